"""TwinRouterBench's static cost rules, one test per rule, each worked out by hand on a tiny bank.

Its code (`main/pricing.py`, `main/tokenizer.py`, `main/eval/section11.py`) is what these pin:
the static price table, billable text, the prefix fingerprint for warm/cold, the tokenizer
per tier. A failure names the rule that regressed.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import twinsim

from simulator import bank as bankfmt
from simulator.cli import main
from simulator.config import TIER_IDS, Pool, load_pool, load_pricing, priced
from simulator.static.cost import StaticPath, TokenCounter, output_tokens
from simulator.text import billable_text, content_text

ROOT = Path(__file__).resolve().parent.parent
# cl100k tokens: "a", "b", "c", "ls", "bash" are one each; "\nbash\nls" is 4, "bash\nls" 3, "a\nb" 3.
U_A, U_C = {"role": "user", "content": "a"}, {"role": "user", "content": "c"}
A_B = {"role": "assistant", "content": "b"}


def row(instance, step, gold, messages, benchmark="B"):
    return {
        "id": f"{benchmark}_{instance}_step_{step}",
        "benchmark": benchmark,
        "instance_id": instance,
        "step_index": step,
        "total_steps": 2,
        "messages": messages,
        "target_tier": gold,
        "target_tier_id": TIER_IDS[gold],
    }


def static_score(bank_rows, tmp_path, *args) -> dict:
    bank = tmp_path / "bank.jsonl"
    bank.write_text(bankfmt.bank_jsonl(bank_rows))
    result = CliRunner().invoke(main, ["static", "score", str(bank), "-r", "always:low", "--json", "-", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- prices ----------------------------------------------------------------------------------

# One trajectory, gold low at both rows: [a] = 1 + 4 + 2 = 7 prompt tokens, [a, b, c] = 17; the
# output of row 1 is the assistant message row 2 adds (1 + 4 = 5), row 2 (the last) the mean: 5.
TWO_ROWS = [row("x", 1, "low", [U_A]), row("x", 2, "low", [U_A, A_B, U_C])]


def test_static_track_prices_with_twinrouterbench_s_static_table_by_default(tmp_path):
    table = load_pricing("trb-static").prices
    assert [(p.input, p.cache_read, p.cache_write, p.output) for p in table.values()] == [
        (0.26, 0.13, 0.26, 0.5),
        (0.30, 0.059, 0.30, 2.0),
        (0.50, 0.05, 0.08333, 5.0),
        (5.0, 0.50, 6.25, 25.0),
    ]
    # always:low, µUSD: row 1 cold 7 * 0.26 + 5 * 0.5 = 4.32; row 2 warm (row 1 was low, a prefix):
    # read 7 * 0.13 + write 10 * 0.26 + 5 * 0.5 = 6.01. Always-high: 7 * 6.25 + 5 * 25 = 168.75;
    # 7 * 0.5 + 10 * 6.25 + 5 * 25 = 191. The trajectory passes: COSTSAVE = 100 * (359.75 - 10.33) / 359.75.
    result = static_score(TWO_ROWS, tmp_path)
    assert (result["pool"], result["pricing"]) == ("twinrouterbench", "trb-static")
    assert result["routers"][0]["costsave"] == pytest.approx(100 * (359.75 - 10.33) / 359.75)
    # Any pool's prices on request: deepseek-v3.2's for low (0.252 / 0.0252 / 0.252 / 0.378):
    # 7 * 0.252 + 5 * 0.378 = 3.654 and 7 * 0.0252 + 10 * 0.252 + 5 * 0.378 = 4.5864.
    dynamic = static_score(TWO_ROWS, tmp_path, "--pricing", "twinrouterbench")
    assert dynamic["pricing"] == "twinrouterbench"
    assert dynamic["routers"][0]["costsave"] == pytest.approx(100 * (359.75 - 8.2404) / 359.75)


def test_a_given_pool_prices_with_its_own_prices(tmp_path):
    pool = load_pool("twinrouterbench").model_dump()
    for tier in pool["tiers"]:  # low: write 1, read 0, output 1; high: 10, 1, 10 (µUSD per token)
        tier["pricing"] = (
            {"input": 10, "cache_read": 1, "cache_write": 10, "output": 10}
            if tier["name"] == "high"
            else {"input": 1, "cache_read": 0, "cache_write": 1, "output": 1}
        )
    path = tmp_path / "pool.yaml"
    path.write_text(json.dumps(pool))
    # always:low 7 + 5 = 12 and 10 + 5 = 15; always-high 70 + 50 = 120 and 7 + 100 + 50 = 157.
    result = static_score(TWO_ROWS, tmp_path, "--pool", str(path))
    assert result["pricing"] == "pool twinrouterbench"
    assert result["routers"][0]["costsave"] == pytest.approx(100 * (277 - 27) / 277)
    # ... unless --pricing says otherwise: the same table as the default.
    assert static_score(TWO_ROWS, tmp_path, "--pool", str(path), "--pricing", "trb-static")["routers"][0][
        "costsave"
    ] == pytest.approx(100 * (359.75 - 10.33) / 359.75)


def test_a_pricing_without_a_tier_of_the_pool_is_a_clear_error(tmp_path):
    partial = tmp_path / "partial.yaml"
    price = {"input": 1, "cache_read": 1, "cache_write": 1, "output": 1}
    partial.write_text(json.dumps({"name": "partial", "prices": {"low": price}}))
    with pytest.raises(ValueError, match="no price for tier"):
        priced(load_pool("twinrouterbench"), load_pricing(str(partial)))
    bank = tmp_path / "bank.jsonl"
    bank.write_text(bankfmt.bank_jsonl(TWO_ROWS))
    result = CliRunner().invoke(main, ["static", "score", str(bank), "-r", "always:low", "--pricing", "nope"])
    assert result.exit_code != 0 and "no pricing 'nope'" in result.output


def test_the_quickstart_bank_scores_as_twinrouterbench_scores_it():
    result = json.loads(
        twinsim("static", "score", "recordings/quickstart-bank.jsonl", "-r", "always:low", "-r", "always:mid",
                "--json", "-", cwd=ROOT).stdout
    )  # fmt: skip
    low, mid = result["routers"]
    assert (round(low["costsave"], 2), round(mid["costsave"], 2)) == (-6.15, -6.61)  # TwinRouterBench's numbers


# --- billable text ---------------------------------------------------------------------------

TOOL_CALL = {"id": "call_abc", "type": "function", "function": {"name": "bash", "arguments": "ls"}}


def test_a_tool_call_message_with_empty_content_bills_newline_name_newline_arguments():
    empty = {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}
    none = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
    assert (billable_text(empty), billable_text(none)) == ("\nbash\nls", "bash\nls")
    counter = TokenCounter()
    # 4 text tokens + 4 + 2 against 3 + 4 + 2: the kept empty content costs one token.
    assert (counter.messages([empty], "low"), counter.messages([none], "low")) == (10, 9)
    dict_args = {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}
    assert billable_text(dict_args) == 'f\n{"a": 1}'  # dict arguments as json.dumps writes them


def test_list_content_joins_its_text_blocks_with_newlines():
    content = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "u"}}, {"text": ""}, "b"]
    assert content_text(content) == "a\nb"  # empty and text-less blocks are skipped, string blocks kept
    assert billable_text({"role": "user", "content": content}) == "a\nb"
    assert TokenCounter().messages([{"role": "user", "content": content}], "low") == 3 + 4 + 2


# --- the prefix fingerprint: warm or cold ----------------------------------------------------

READ_ONLY = Pool.model_validate(
    {
        "name": "read",
        "tiers": [
            {"name": "low", "model": "m", "pricing": {"input": 0, "cache_read": 1, "cache_write": 0, "output": 0}}
        ],
    }
)


def read_tokens(previous: list[dict], messages: list[dict]) -> int:
    """Cache-read tokens of a second `low` row after a first one (0: cold). Only reads cost here, 1 µUSD each."""
    path = StaticPath(READ_ONLY, TokenCounter())
    path.charge(row("x", 1, "low", previous), "low", 0)
    return round(path.charge(row("x", 2, "low", messages), "low", 0) * 1e6)


def test_none_and_empty_content_are_the_same_prefix():
    # Warm: the previous row's prompt, 0 + 4 + 2 tokens, is read.
    assert read_tokens([{"role": "user", "content": None}], [{"role": "user", "content": ""}, U_C]) == 6
    assert read_tokens([U_A], [{"role": "user", "content": [{"type": "text", "text": "a"}]}, U_C]) == 7


def test_tool_call_ids_are_compared_as_written():
    call = {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}
    renamed = {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL | {"id": "toolu_1"}]}
    assert read_tokens([U_A, call], [U_A, call, U_C]) == 15  # warm: [a] 1 + 4, the call 4 + 4, and 2
    assert read_tokens([U_A, call], [U_A, renamed, U_C]) == 0  # another id: cold (twinsim's keys rename ids)


def test_tool_calls_are_compared_whole():
    call = {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]}
    indexed = {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL | {"index": 0}]}
    assert read_tokens([U_A, call], [U_A, indexed, U_C]) == 0


def test_a_name_of_none_differs_from_no_name():
    assert read_tokens([U_A | {"name": None}], [U_A, U_C]) == 0
    assert read_tokens([U_A | {"name": None}], [U_A | {"name": None}, U_C]) == 7


# --- tokenizers --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def word_tokenizer(tmp_path_factory) -> Path:
    """A Hugging Face tokenizer file: whitespace-split words, each one token (unknown words too)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path_factory.mktemp("tok") / "words.json"
    tokenizer.save(str(path))
    return path


LONG = "supercalifragilistic"  # 7 cl100k tokens, 1 word


def test_every_tier_counts_with_cl100k_unless_given_a_tokenizer_file(word_tokenizer):
    counter = TokenCounter({"high": word_tokenizer})
    assert (counter.text(LONG, "high"), counter.text(LONG, "low"), TokenCounter().text(LONG, "high")) == (1, 7, 7)
    assert counter.messages([{"role": "user", "content": LONG}], "high") == 1 + 4 + 2
    # Robustness, not TwinRouterBench: cl100k counts a special-token string as text (tiktoken raises there).
    assert TokenCounter().text("<|endoftext|>", "low") == 7


def test_output_tokens_are_counted_with_the_gold_tier_s_tokenizer(word_tokenizer):
    counter = TokenCounter({"high": word_tokenizer})
    steps = [row("x", 1, "high", [U_A]), row("x", 2, "low", [U_A, {"role": "assistant", "content": LONG}, U_C])]
    assert output_tokens(steps, counter) == [1 + 4, 5]  # row 1's gold is high: its tokenizer
    steps[0]["target_tier"], steps[0]["target_tier_id"] = "low", 0
    assert output_tokens(steps, counter) == [7 + 4, 11]


def test_tokenizer_option_loads_a_file_per_tier_and_refuses_bad_ones(word_tokenizer, tmp_path):
    rows = [row("x", 1, "high", [{"role": "user", "content": LONG}])]
    result = static_score(rows, tmp_path, "--tokenizer", f"high={word_tokenizer}")
    assert result["tokenizers"] == {"high": "words.json"}
    bank = tmp_path / "bank.jsonl"
    for spec, message in [
        ("top=x.json", "use TIER=PATH.json"),
        (f"high={tmp_path / 'none.json'}", "is not a tokenizers JSON file"),
        (f"high={bank}", "is not a tokenizers JSON file"),
    ]:
        result = CliRunner().invoke(main, ["static", "score", str(bank), "-r", "always:low", "--tokenizer", spec])
        assert result.exit_code != 0 and message in result.output, result.output
