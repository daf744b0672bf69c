"""Connected components of linked items (union-find): duplicate clusters, hot issues, corpus splits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

# A public issue is shown once this many people (duplicate groups count once) have written about it.
MIN_SUBMITTERS = 3

T = TypeVar("T", int, str)
U = TypeVar("U", int, str)


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


def dense_clusters(nodes: Iterable[T], links: Iterable[tuple[T, T, float]], min_density: float = 0.5) -> dict[T, T]:
    """Clusters in which members are linked to most of each other, not merely connected: links are taken
    best supported first (most neighbours in common, then strongest), and two clusters merge only if at
    least `min_density` of the pairs between them are linked (average linkage on the link graph). A chain
    a–b–c–d… of one-neighbour links, which makes a single connected component, stays in pieces of two
    or three. Named by the smallest member, like `components`."""
    members: dict[T, list[T]] = {node: [node] for node in nodes}
    cluster_of: dict[T, T] = {node: node for node in members}
    weights: dict[tuple[T, T], float] = {}
    for a, b, weight in links:
        if a != b and a in cluster_of and b in cluster_of:
            key = (a, b) if a < b else (b, a)
            weights[key] = max(weight, weights.get(key, weight))
    neighbours: dict[T, set[T]] = {node: set() for node in members}
    for a, b in weights:
        neighbours[a].add(b)
        neighbours[b].add(a)
    # A link inside a public issue shares neighbours with the issue's other letters; a bridge between
    # two issues shares none, however strong it is.
    support = {key: len(neighbours[key[0]] & neighbours[key[1]]) for key in weights}
    for (a, b), _ in sorted(weights.items(), key=lambda item: (-support[item[0]], -item[1])):
        ca, cb = cluster_of[a], cluster_of[b]
        if ca == cb:
            continue
        linked = sum(1 for x in members[ca] for y in members[cb] if ((x, y) if x < y else (y, x)) in weights)
        if linked < min_density * len(members[ca]) * len(members[cb]):
            continue
        keep, gone = (ca, cb) if len(members[ca]) >= len(members[cb]) else (cb, ca)
        for node in members[gone]:
            cluster_of[node] = keep
        members[keep] += members.pop(gone)
    named = {root: min(group) for root, group in members.items()}
    return {node: named[root] for node, root in cluster_of.items()}



def issue_clusters(unit: dict[T, U], related: Iterable[tuple[U, U, float]]) -> list[list[T]]:
    """Cases grouped into public issues: by submitter unit (one person's duplicate group is one unit),
    units joined by their `related` links into `dense_clusters`."""
    cluster = dense_clusters(set(unit.values()), related)
    members: dict[U, list[T]] = {}
    for case, submitter in unit.items():
        members.setdefault(cluster[submitter], []).append(case)
    return list(members.values())
