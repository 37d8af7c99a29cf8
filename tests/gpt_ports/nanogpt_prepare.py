"""
Prepare a character-level dataset for nanoGPT: nanoGPT's data/shakespeare_char/prepare.py, with a small
generated text instead of the tiny-shakespeare download. No torch: the same files serve both frameworks.
Will save train.bin, val.bin containing the ids, and meta.pkl containing the encoder and decoder.
"""

# ruff: noqa  (karpathy's style)

import os
import pickle
import random

import numpy as np


def make_text(n_lines=400, seed=0):
    # a few sentence patterns, so that a tiny model has something to learn in a few steps
    rng = random.Random(seed)
    names, verbs, things = ['ROMEO', 'JULIET', 'HAMLET', 'LEAR'], ['loves', 'fears', 'sees', 'keeps'], ['the moon', 'a rose', 'the crown', 'my lord']
    return ''.join(f"{rng.choice(names)}: {rng.choice(verbs)} {rng.choice(things)}.\n" for _ in range(n_lines))


def prepare(data_dir, data=None):
    os.makedirs(data_dir, exist_ok=True)
    if data is None:
        data = make_text()
    print(f"length of dataset in characters: {len(data):,}")

    # get all the unique characters that occur in this text
    chars = sorted(list(set(data)))
    vocab_size = len(chars)
    print("all the unique characters:", ''.join(chars))
    print(f"vocab size: {vocab_size:,}")

    # create a mapping from characters to integers
    stoi = { ch:i for i,ch in enumerate(chars) }
    itos = { i:ch for i,ch in enumerate(chars) }
    def encode(s):
        return [stoi[c] for c in s] # encoder: take a string, output a list of integers

    # create the train and test splits
    n = len(data)
    train_data = data[:int(n*0.9)]
    val_data = data[int(n*0.9):]

    # encode both to integers
    train_ids = encode(train_data)
    val_ids = encode(val_data)
    print(f"train has {len(train_ids):,} tokens")
    print(f"val has {len(val_ids):,} tokens")

    # export to bin files
    train_ids = np.array(train_ids, dtype=np.uint16)
    val_ids = np.array(val_ids, dtype=np.uint16)
    train_ids.tofile(os.path.join(data_dir, 'train.bin'))
    val_ids.tofile(os.path.join(data_dir, 'val.bin'))

    # save the meta information as well, to help us encode/decode later
    meta = {
        'vocab_size': vocab_size,
        'itos': itos,
        'stoi': stoi,
    }
    with open(os.path.join(data_dir, 'meta.pkl'), 'wb') as f:
        pickle.dump(meta, f)
    return meta
