"""The smallest tools/list the catalogue's fields allow: every field keeps a type, its bounds and a
12-character description, every tool a 60-character description, every output schema shrinks to
{"type": "object"} and the annotations keep only the hints that differ from their defaults.

Usage: target/release/taiga-bench --tools-json tools.json && python3 tests/bench/tools_floor.py tools.json
"""

import json
import sys


def size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def main(path: str) -> None:
    tools = json.load(open(path))["tools"]
    print(f"tools/list now: {size({'tools': tools})} bytes")
    for tool in tools:
        hints = tool.get("annotations", {})
        tool["annotations"] = {"readOnlyHint": True} if hints.get("readOnlyHint") else {
            key: value for key, value in hints.items() if key != "readOnlyHint"
        }
        tool["description"] = tool["description"][:60]
        for field in tool["inputSchema"].get("properties", {}).values():
            field["description"] = field["description"][:12]
        tool["outputSchema"] = {"type": "object"}
    print(f"floor: {size({'tools': tools})} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
