#!/usr/bin/env python3
"""Import cycles between the top-level modules of a crate.

    python3 scripts/module-cycles.py app/src crates/domain/src crates/store/src crates/services/src

Reads every `crate::<module>` path outside `#[cfg(test)] mod tests`, builds the
graph of top-level modules, and prints its strongly connected components of more
than one module (Tarjan). Exit status 1 when there is any.
"""
import os
import re
import sys


def graph(root):
    deps = {}
    for directory, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            top = os.path.relpath(path, root).split("/")[0].removesuffix(".rs")
            if top in ("lib", "main"):
                continue
            text = re.split(r"#\[cfg\(test\)\]\s*mod tests", open(path, encoding="utf-8").read())[0]
            deps.setdefault(top, set()).update(m for m in re.findall(r"crate::([a-z_0-9]+)", text) if m != top)
    return {m: {d for d in ds if d in deps} for m, ds in deps.items()}


def cycles(g):
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


status = 0
for root in sys.argv[1:]:
    found = cycles(graph(root))
    print(f"{root}: {'no cycles' if not found else found}")
    status |= bool(found)
sys.exit(status)
