"""Fails when two modules of a crate depend on each other, directly or through others.

A module's dependencies are the modules its code names through `crate::` and `super::` paths
and the child modules it declares; test modules are left out. Usage: module_cycles.py SRC_DIR...
"""

import pathlib
import re
import sys

SKIPPED = ("tests", "props", "testing")


def module_name(root, path):
    parts = [p for p in path.relative_to(root).with_suffix("").parts if p not in ("mod", "lib")]
    return "::".join(parts) or "crate"


def exists(root, parts):
    base = root.joinpath(*parts)
    return base.with_suffix(".rs").exists() or (base / "mod.rs").exists()


def dependencies(root, path, name):
    parent = name.rsplit("::", 1)[0] if "::" in name else "crate"
    text = path.read_text()
    deps = set()
    for line in text.splitlines():
        code = line.strip()
        if code.startswith("//") or code == "mod tests;":
            continue
        if re.search(r"\bsuper::(\{|[A-Z])", code):
            deps.add(parent)
        for kind, target in re.findall(r"\b(crate|super)::([a-z_]+(?:::[a-z_]+)*)", code):
            parts = target.split("::")
            if kind == "super":
                parts = ([] if parent == "crate" else parent.split("::")) + parts[:1]
            longest = next((parts[:i] for i in range(len(parts), 0, -1) if exists(root, parts[:i])), parts[:1])
            deps.add("::".join(longest))
    for child in re.findall(r"^\s*(?:pub(?:\([a-z]+\))? )?mod ([a-z_]+);", text, re.M):
        if child not in SKIPPED:
            deps.add(child if name == "crate" else f"{name}::{child}")
    deps.discard(name)
    return deps


def cycles(root):
    graph = {}
    for path in sorted(root.rglob("*.rs")):
        name = module_name(root, path)
        if name.split("::")[-1] in SKIPPED:
            continue
        graph[name] = dependencies(root, path, name)

    def reaches(start, goal):
        seen, todo = set(), [start]
        while todo:
            for dep in graph.get(todo.pop(), ()):
                if dep == goal:
                    return True
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return False

    return sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if b in graph and reaches(b, a)})


def main(roots):
    failed = False
    for root in map(pathlib.Path, roots):
        for a, b in cycles(root):
            print(f"{root}: {a} and {b} depend on each other")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
