"""RFC 9162 / RFC 6962 Merkle tree: the published test vectors, and a brute force written here
from the RFC's definitions (sharing no code with pmpath.domain.merkle)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmpath.domain import merkle

# The Certificate Transparency reference vectors (RFC 6962 test data, as in
# certificate-transparency-go and Trillian): eight leaves and the roots of their prefixes.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PROOFS = {  # (old size, new size) -> consistency proof, same test data
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (3, 8): [
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
}


# --- brute force, straight from RFC 9162 section 2.1.1 and 2.1.4.1 ---------------------------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def bf_mth(entries: list[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _sha(b"\x01" + bf_mth(entries[:k]) + bf_mth(entries[k:]))


def bf_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if b else [bf_mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*bf_subproof(m, entries[:k], b), bf_mth(entries[k:])]
    return [*bf_subproof(m - k, entries[k:], False), bf_mth(entries[:k])]


def _hashes(entries: list[bytes]) -> list[bytes]:
    return [merkle.leaf_hash(e) for e in entries]


# --- tests ------------------------------------------------------------------------------------


def test_empty_tree_and_published_roots() -> None:
    assert merkle.root([]).hex() == hashlib.sha256(b"").hexdigest()
    for n, expected in enumerate(ROOTS, start=1):
        assert merkle.root(_hashes(LEAVES[:n])).hex() == expected
        assert bf_mth(LEAVES[:n]).hex() == expected  # the brute force agrees with the vectors


@pytest.mark.parametrize(("sizes", "expected"), sorted(PROOFS.items()))
def test_published_consistency_proofs(sizes: tuple[int, int], expected: list[str]) -> None:
    old, new = sizes
    proof = merkle.consistency_proof(_hashes(LEAVES[:new]), old)
    assert [p.hex() for p in proof] == expected
    assert merkle.verify_consistency(
        old, new, bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1]), proof
    )


def test_every_proof_up_to_33_leaves_matches_the_brute_force_and_verifies() -> None:
    entries = [i.to_bytes(2, "big") * (i % 3 + 1) for i in range(33)]
    hashes = _hashes(entries)
    for n in range(1, len(entries) + 1):
        new_root = merkle.root(hashes[:n])
        assert new_root == bf_mth(entries[:n])
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(hashes[:n], m)
            assert proof == ([] if m == n else bf_subproof(m, entries[:n], True))
            old_root = bf_mth(entries[:m])
            assert merkle.verify_consistency(m, n, old_root, new_root, proof)
            if m < n:
                # a wrong old root, a wrong new root, a flipped proof node all fail
                assert not merkle.verify_consistency(m, n, new_root, new_root, proof)
                assert not merkle.verify_consistency(m, n, old_root, old_root, proof)
                for i in range(len(proof)):
                    bad = list(proof)
                    bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
                    assert not merkle.verify_consistency(m, n, old_root, new_root, bad)
                assert not merkle.verify_consistency(m, n, old_root, new_root, proof[:-1])


def test_sizes_out_of_range_are_refused() -> None:
    hashes = _hashes(LEAVES)
    with pytest.raises(ValueError, match="old size 9"):
        merkle.consistency_proof(hashes, 9)
    root8 = bytes.fromhex(ROOTS[7])
    assert not merkle.verify_consistency(9, 8, root8, root8, [])
    assert merkle.verify_consistency(8, 8, root8, root8, [])
    assert not merkle.verify_consistency(3, 8, bytes.fromhex(ROOTS[2]), root8, [])


@given(
    st.lists(st.binary(max_size=8), min_size=1, max_size=40),
    st.lists(st.binary(max_size=8), max_size=40),
)
def test_a_tree_extended_by_appends_is_consistent_and_a_changed_prefix_is_not(
    prefix: list[bytes], appended: list[bytes]
) -> None:
    entries = prefix + appended
    old_root, new_root = bf_mth(prefix), bf_mth(entries)
    proof = merkle.consistency_proof(_hashes(entries), len(prefix))
    assert merkle.verify_consistency(len(prefix), len(entries), old_root, new_root, proof)
    changed = [*prefix[:-1], prefix[-1] + b"x", *appended]
    assert merkle.root(_hashes(changed)) != new_root
    changed_proof = merkle.consistency_proof(_hashes(changed), len(prefix))
    assert not merkle.verify_consistency(
        len(prefix), len(changed), old_root, merkle.root(_hashes(changed)), changed_proof
    )


def test_a_shared_cache_gives_the_same_roots_and_proofs() -> None:
    hashes = _hashes([i.to_bytes(2, "big") for i in range(70)])
    cache: merkle.Cache = {}
    for n in range(1, 71):
        assert merkle.root(hashes[:n]) == merkle.root(hashes[:n], cache)
    full_cache: merkle.Cache = {}
    for m in range(1, 71):
        assert merkle.consistency_proof(hashes, m) == merkle.consistency_proof(
            hashes, m, full_cache
        )
