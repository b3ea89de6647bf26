"""Batches whose in-batch negatives are really negatives.

The in-batch negatives loss treats every other row's positive as a negative of a row's query. Two
alternates of one FAQ entry, or two queries of one programme, in one batch would be pushed apart
although they mean the same thing. sentence-transformers' NoDuplicatesBatchSampler only keeps
identical *texts* apart; this sampler also keeps rows of one *group* apart (the `label` column of a
pairs dataset holds the group: the in-batch negatives loss ignores labels).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

GROUP_COLUMN = "label"
_NOT_TEXT = {GROUP_COLUMN, "score", "dataset_name"}


class GroupBatchSampler(DefaultBatchSampler):
    """Shuffled batches (seed + epoch) in which no group and no text occurs twice."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            dataset,
            batch_size=batch_size,
            drop_last=drop_last,
            valid_label_columns=valid_label_columns,
            generator=generator,
            seed=seed,
        )
        columns = {name: dataset[name] for name in dataset.column_names}
        texts = [c for name, c in columns.items() if name not in _NOT_TEXT]
        groups = columns.get(GROUP_COLUMN)
        self.keys: list[frozenset[object]] = [
            frozenset([*(c[i] for c in texts), *((("group", groups[i]),) if groups is not None else ())])
            for i in range(len(dataset))
        ]
        self._length = sum(1 for _ in self._batches(0))

    def _batches(self, epoch: int) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + epoch)
        remaining = torch.randperm(len(self.keys), generator=generator).tolist()
        while remaining:
            batch: list[int] = []
            taken: set[object] = set()
            deferred = []
            for index in remaining:  # first fit: a clashing row waits for a later batch
                if len(batch) < self.batch_size and taken.isdisjoint(self.keys[index]):
                    batch.append(index)
                    taken |= self.keys[index]
                else:
                    deferred.append(index)
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch
            remaining = deferred

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches(self.epoch)

    def __len__(self) -> int:
        return self._length
