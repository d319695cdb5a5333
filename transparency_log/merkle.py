"""RFC 6962 / RFC 9162 (section 2.1) Merkle tree arithmetic over stored subtree hashes. No Django, no storage.

A stored node (level L, index k) is the hash of the complete subtree over leaves [k * 2**L, (k + 1) * 2**L). Every
range this module asks for starts at a multiple of a power of two at least as large as the range, so its hash is
the right fold of the complete subtrees it splits into -- exactly the MTH of RFC 9162 for that range.
"""

import hashlib

Node = tuple[int, int]  # (level, index)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete subtrees that make up leaves [start, end), left to right."""
    nodes, position = [], start
    for level in range((end - start).bit_length() - 1, -1, -1):
        if (end - start) >> level & 1:
            assert position % (1 << level) == 0, "range is not aligned"  # nosec B101  # callers' invariant
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def fold(hashes: list[bytes]) -> bytes:
    """The hash of a range from its complete subtrees' hashes, left to right: H(a, H(b, H(c, d)))."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes are the inclusion proof of leaf `index` in a tree of `size`, in proof order."""
    ranges, low, high = [], 0, size
    while high - low > 1:
        k = _largest_power_of_two_below(high - low)
        if index < low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
    return ranges[::-1]


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes prove that the tree of `old_size` is a prefix of the tree of `new_size`
    (RFC 9162 2.1.4.1, SUBPROOF), in proof order. Empty when the sizes are equal or `old_size` is 0."""
    if old_size == 0 or old_size == new_size:
        return []
    ranges, low, high, whole = [], 0, new_size, True
    while old_size != high:
        k = _largest_power_of_two_below(high - low)
        if old_size <= low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
            whole = False
    if not whole:
        ranges.append((low, high))
    return ranges[::-1]


def appended_nodes(size: int, new_leaf: bytes, frontier: dict[int, bytes]) -> list[tuple[int, int, bytes]]:
    """The nodes that become complete when leaf number `size` (its hash `new_leaf`) is appended: (level, index, hash).

    `frontier` maps a level to its complete node still waiting for a right sibling (the nodes of
    `range_nodes(0, size)`); it is updated in place."""
    created, level, index, current = [], 0, size, new_leaf
    while True:
        created.append((level, index, current))
        if not index & 1:
            frontier[level] = current
            return created
        current = node_hash(frontier.pop(level), current)
        level, index = level + 1, index >> 1
