"""Two prefixes (asymmetric models): entries behind the entry prefix, queries behind the query prefix.

The tiny random BERT with the real Korean tokenizer: the expectations are token ids, BM25 token
weights and vectors worked out here from the bare texts and a manual forward pass.
"""

import numpy as np
import pytest
import torch

from models.bm25 import Bm25Stats
from models.encoder import Encoder
from models.morphemes import terms
from models.pooling_spec import NAMED_VARIANTS

SENTENCES = [
    "네",
    "비밀번호를 잊어버렸어요",
    "신용 대출을 신청하고 싶어요",
    "해외 송금을 하려면 어떻게 해야 하나요?",
    "적금",
]


@pytest.fixture(scope="module")
def bm25():
    return Bm25Stats.fit(terms(SENTENCES))


@pytest.fixture(scope="module")
def asymmetric(tiny_encoder):
    return tiny_encoder.with_prefixes(prefix="query: ", entry_prefix="passage: ")


def test_the_entry_prefix_tokens_weigh_nothing_and_the_text_tokens_are_those_of_the_bare_text(
    asymmetric, tiny_encoder, bm25
):
    # "passage:" and "query:" are 2 and 3 tokens, 9 and 7 characters with the space: offsets
    # shifted by the wrong prefix would move every text token's weight.
    bare = tiny_encoder.tokenize(SENTENCES)  # tiny_encoder has no prefix
    assert tiny_encoder.prefix == tiny_encoder.entry_prefix == ""
    n_prefix = {}
    tokenized, weights = {}, {}
    for role, prefix in (("entry", "passage:"), ("query", "query:")):
        prefix_ids = asymmetric.tokenizer(prefix, add_special_tokens=False)["input_ids"]
        n_prefix[role] = len(prefix_ids)
        tokenized[role] = asymmetric.tokenize(SENTENCES, role=role)
        weights[role] = asymmetric.bm25_token_weights(tokenized[role], bm25)
        for i in range(len(SENTENCES)):
            # <s> + the prefix's tokens + the bare text's own tokens + </s>
            assert tokenized[role].input_ids[i] == [bare.input_ids[i][0], *prefix_ids, *bare.input_ids[i][1:]]
            # <s> and every prefix token weigh exactly 0
            assert weights[role][i][: 1 + len(prefix_ids)].tolist() == [0.0] * (1 + len(prefix_ids))
    assert n_prefix == {"entry": 2, "query": 3}
    for i in range(len(SENTENCES)):
        # the text's tokens weigh the same behind either prefix
        entry_text = weights["entry"][i][1 + n_prefix["entry"] :]
        query_text = weights["query"][i][1 + n_prefix["query"] :]
        assert entry_text.tolist() == query_text.tolist(), i
        assert tokenized["entry"].offsets[i][1 + n_prefix["entry"] :].tolist() == (
            tokenized["query"].offsets[i][1 + n_prefix["query"] :].tolist()
        )
    assert max(w.max() for w in weights["entry"]) > 1.0  # the comparison is not of zeros only


def test_bm25_pooling_of_an_entry_equals_a_manual_weighted_mean_without_the_prefix_tokens(asymmetric, bm25):
    vectors = asymmetric.encode(SENTENCES, "bm25", bm25=bm25, role="entry").vectors
    tokenized = asymmetric.tokenize(SENTENCES, role="entry")
    # Weights of the text's tokens behind the other prefix, zeros put in by hand at <s>, the entry
    # prefix's two tokens and </s>.
    behind_query = asymmetric.tokenize(SENTENCES, role="query")
    query_weights = asymmetric.bm25_token_weights(behind_query, bm25)
    for i, ids in enumerate(tokenized.input_ids):
        with torch.no_grad():
            hidden = asymmetric.model(input_ids=torch.tensor([ids])).last_hidden_state[0]  # [T, H]
        weights = np.concatenate([[0.0, 0.0, 0.0], query_weights[i][4:]])  # <s> ▁passage : | text </s>
        assert len(weights) == len(ids) and weights[-1] == 0.0
        w = torch.from_numpy(weights).float()[:, None]  # [T, 1]
        expected = torch.nn.functional.normalize((w * hidden).sum(dim=0) / w.sum(), dim=0).numpy()
        assert np.abs(vectors[i] - expected).max() <= 1e-6, i


def test_an_entry_behind_p_is_exactly_a_query_with_the_query_prefix_set_to_p(asymmetric, bm25):
    as_entries = asymmetric.encode_variants(SENTENCES, NAMED_VARIANTS, bm25=bm25, role="entry")
    queries_behind_passage = asymmetric.with_prefixes(prefix="passage: ")
    as_queries = queries_behind_passage.encode_variants(SENTENCES, NAMED_VARIANTS, bm25=bm25)
    behind_query = asymmetric.encode_variants(SENTENCES, NAMED_VARIANTS, bm25=bm25, role="query")
    for name in NAMED_VARIANTS:
        assert np.array_equal(as_entries[name].vectors, as_queries[name].vectors), name
        # the role does change what is encoded: behind 'query: ' every vector is another one
        assert not np.isclose(as_entries[name].vectors, behind_query[name].vectors).all(axis=1).any(), name


def test_encode_default_role_is_query_and_entries_follow_the_query_prefix_when_unset(tiny_model_dir):
    one = Encoder.load(str(tiny_model_dir), device="cpu", precision="fp32", prefix="query: ")
    assert (one.prefix, one.entry_prefix) == ("query: ", "query: ")
    two = Encoder.load(str(tiny_model_dir), device="cpu", precision="fp32", entry_prefix="passage: ")
    assert (two.prefix, two.entry_prefix) == ("", "passage: ")  # "tiny-bert*" is no e5 name: no prefix
    assert np.array_equal(two.encode(["대출"]).vectors, two.encode(["대출"], role="query").vectors)
    assert np.array_equal(
        two.encode(["대출"], role="entry").vectors,
        one.with_prefixes(prefix="passage: ").encode(["대출"]).vectors,
    )
    with pytest.raises(ValueError, match="unknown role 'answer'; valid: query, entry"):
        two.encode(["대출"], role="answer")  # type: ignore[arg-type]


def test_with_prefixes_shares_the_model_and_leaves_the_original_alone(asymmetric, tiny_encoder):
    assert asymmetric.model is tiny_encoder.model
    assert (tiny_encoder.prefix, tiny_encoder.entry_prefix) == ("", "")
    assert (asymmetric.prefix, asymmetric.entry_prefix) == ("query: ", "passage: ")
    kept = asymmetric.with_prefixes(entry_prefix="")
    assert (kept.prefix, kept.entry_prefix) == ("query: ", "")
