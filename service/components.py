"""Connected components of linked items (union-find): duplicate clusters, hot issues, corpus splits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T", int, str)


def components(nodes: Iterable[T], links: Iterable[tuple[T, T]]) -> dict[T, T]:
    """The connected component of every node, named by its smallest member (a name that does not
    depend on the order of the links: cross-validation folds are assigned by these names)."""
    parent = {node: node for node in nodes}

    def find(x: T) -> T:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        parent[find(a)] = find(b)
    roots = {node: find(node) for node in parent}
    smallest: dict[T, T] = {}
    for node, root in roots.items():
        smallest[root] = min(node, smallest.get(root, node))
    return {node: smallest[root] for node, root in roots.items()}
