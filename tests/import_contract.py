"""The import contract: dependencies point one way, and no import hides a cycle.

    detector -> relay (the core) -> datasets -> annotations -> training -> inference

A package may import its own layer and those to its left, never one to its right; the
detector library imports no Django at all. Every import statement counts, those inside
functions included, and the module graph they make has no cycle. Migrations are left
out (they name other apps' migrations as data).

The client (`client/relay_client`, installed on users' machines without the server) stands
alone: it imports none of the packages above, no Django, DRF or Celery, nothing of the
tests, and its own modules make no cycle either.

    python -m tests.import_contract        # exits 1 and lists the breaches
"""

import ast
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = ("detector", "relay", "datasets", "annotations", "training", "inference")
FORBIDDEN = {"detector": ("django", "rest_framework", "celery")}
ROOT = Path(__file__).resolve().parent.parent
CLIENT = Path("client") / "relay_client"
CLIENT_FORBIDDEN = (*LAYERS, "django", "rest_framework", "celery", "tests")


def project_modules(root):
    """{dotted name: path} of every module of the layered packages."""
    modules = {}
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def client_modules(root):
    """{dotted name: path} of the client package's modules (`relay_client...`)."""
    modules = {}
    for path in sorted((root / CLIENT).rglob("*.py")):
        parts = ["relay_client", *path.relative_to(root / CLIENT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(path, name, modules):
    """(line, imported name) of every import in a module, functions included; `from a import b`
    names `a.b` when that is a module of the project."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield node.lineno, full if full in modules else base


def layer_of(name):
    top = name.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def check(root=ROOT):
    """The breaches of the contract, as readable lines (none when it holds)."""
    modules = project_modules(root)
    breaches, graph = [], defaultdict(set)
    for name, path in modules.items():
        own = layer_of(name)
        for line, imported in imports_of(path, name, modules):
            where = f"{path.relative_to(root)}:{line}"
            top = imported.split(".")[0]
            if top in FORBIDDEN.get(name.split(".")[0], ()):
                breaches.append(f"{where}: {name} imports {imported} ({name.split('.')[0]} uses no {top})")
            target = layer_of(imported)
            if target is None:
                continue
            if target > own:
                breaches.append(f"{where}: {name} imports {imported}, a higher layer ({' -> '.join(LAYERS)})")
            if imported in modules and imported != name:
                graph[name].add(imported)
    client = client_modules(root)
    for name, path in client.items():
        for line, imported in imports_of(path, name, client):
            top = imported.split(".")[0]
            if top in CLIENT_FORBIDDEN:
                breaches.append(f"{path.relative_to(root)}:{line}: {name} imports {imported} (the client stands alone)")
            if imported in client and imported != name:
                graph[name].add(imported)
    breaches += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    return breaches


def cycles(graph):
    """One cycle (as a closed path) for each strongly connected group of modules (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(_closed_path(sorted(group), graph))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _closed_path(group, graph):
    """A path through the group that comes back to where it started (breadth-first)."""
    members, start = set(group), group[0]
    previous, queue = {start: None}, [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if nxt in members and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return group


def main():
    breaches = check()
    for breach in breaches:
        print(breach)
    print(f"import contract: {'broken' if breaches else 'kept'} ({' -> '.join(LAYERS)})")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
