"""The smallest tools/list the catalogue's fields allow.

"floor": every field keeps a type, its bounds and a 12-character description, every tool a 60-character
description, every output schema shrinks to {"type": "object"} and the annotations keep only the hints that
differ from their defaults.
"bare": further, no titles, no output schemas, 1-character field descriptions and 20-character tool
descriptions: what is left is the names, types and bounds issue 4 fixes.

Usage: target/release/taiga-bench --tools-json tools.json && python3 tests/bench/tools_floor.py tools.json
"""

import json
import sys


def size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def shorten(tools: list, tool_chars: int, field_chars: int) -> None:
    for tool in tools:
        tool["description"] = tool["description"][:tool_chars]
        for field in tool["inputSchema"].get("properties", {}).values():
            field["description"] = field["description"][:field_chars]


def main(path: str) -> None:
    tools = json.load(open(path))["tools"]
    print(f"tools/list now: {size({'tools': tools})} bytes")
    for tool in tools:
        hints = tool.get("annotations", {})
        tool["annotations"] = {"readOnlyHint": True} if hints.get("readOnlyHint") else {
            key: value for key, value in hints.items() if key != "readOnlyHint"
        }
        tool["outputSchema"] = {"type": "object"}
    shorten(tools, 60, 12)
    print(f"floor: {size({'tools': tools})} bytes")
    for tool in tools:
        del tool["title"], tool["outputSchema"]
    shorten(tools, 20, 1)
    print(f"bare: {size({'tools': tools})} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
