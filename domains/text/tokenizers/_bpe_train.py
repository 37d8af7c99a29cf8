"""BPE training with incremental pair counts (the algorithm of Hugging Face ``tokenizers``' BpeTrainer).

Each distinct pre-token ("word") is kept once with its count. Pair counts and, for each pair, the set
of words containing it are built once; a merge then visits only the words holding the merged pair and
applies the count changes around each occurrence. The best pair comes from a max-heap with lazy
invalidation (an entry whose count is stale is pushed back with the current count). Ties go to the
pair of smallest ids, as in ``tokenizers``, so both produce the same merges.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, defaultdict


def train_bpe(
    word_counts: Counter,
    vocab_size: int,
    min_frequency: int,
    special_tokens: list[str],
    initial_alphabet: list[str],
) -> tuple[list[str], list[tuple[int, int]]]:
    """Learns merges over ``word_counts`` (pre-token -> count).

    Returns:
        ``(id_to_token, merges)``: the vocabulary in id order (specials, alphabet sorted by code point,
        merged tokens) and the merges as pairs of ids, in rank order.
    """
    id_to_token: list[str] = []
    token_to_id: dict[str, int] = {}
    for token in special_tokens:
        if token not in token_to_id:
            token_to_id[token] = len(id_to_token)
            id_to_token.append(token)
    alphabet = set(initial_alphabet)
    for word in word_counts:
        alphabet.update(word)
    for c in sorted(alphabet):
        if c not in token_to_id:
            token_to_id[c] = len(id_to_token)
            id_to_token.append(c)

    words = [[token_to_id[c] for c in w] for w in word_counts]
    counts = list(word_counts.values())
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    where: dict[tuple[int, int], set] = defaultdict(set)
    for index, (word, count) in enumerate(zip(words, counts)):
        for pair in itertools.pairwise(word):
            pair_counts[pair] += count
            where[pair].add(index)
    heap = [(-n, a, b) for (a, b), n in pair_counts.items() if n > 0]
    heapq.heapify(heap)

    merges: list[tuple[int, int]] = []
    merged: set = set()
    while len(id_to_token) < vocab_size and heap:
        neg, a, b = heapq.heappop(heap)
        current = pair_counts[(a, b)]
        if -neg != current:  # stale entry: requeue with the true count
            heapq.heappush(heap, (-current, a, b))
            continue
        if current < 1 or current < min_frequency:
            break
        if (a, b) in merged:  # only possible when two merges spell the same token
            continue
        merged.add((a, b))
        token = id_to_token[a] + id_to_token[b]
        new = token_to_id.get(token)
        if new is None:
            new = token_to_id[token] = len(id_to_token)
            id_to_token.append(token)
        merges.append((a, b))

        changes: dict[tuple[int, int], int] = defaultdict(int)
        touched: dict[tuple[int, int], set] = defaultdict(set)
        for index in where[(a, b)]:
            word, count = words[index], counts[index]
            i, n = 0, len(word)
            while i < n - 1:
                if word[i] == a and word[i + 1] == b:
                    if i > 0:
                        prev = word[i - 1]
                        changes[(prev, a)] -= count
                        changes[(prev, new)] += count
                        touched[(prev, new)].add(index)
                    word[i:i + 2] = [new]
                    n -= 1
                    if i < n - 1:
                        nxt = word[i + 1]
                        changes[(b, nxt)] -= count
                        changes[(new, nxt)] += count
                        touched[(new, nxt)].add(index)
                i += 1
        for pair, delta in changes.items():
            pair_counts[pair] += delta
        for pair, indices in touched.items():
            where[pair].update(indices)
            if pair_counts[pair] > 0:
                heapq.heappush(heap, (-pair_counts[pair], pair[0], pair[1]))
    return id_to_token, merges
