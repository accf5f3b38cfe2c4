"""Putting the labels into the Dockerfile as one instruction (pure)."""

from __future__ import annotations

from jenkins_bridge.containers.dockerfile import label_instruction, with_labels

MULTI_STAGE = """\
FROM base AS build
RUN make \\
    FROM-looking-argument
FROM --platform=linux/amd64 base AS runtime
COPY --from=build /out /out
# a comment
FROM base AS debug
RUN echo debug"""


def test_label_instruction_quotes_and_escapes() -> None:
    instruction = label_instruction({"b": 'say "hi" $HOME \\o/', "a": "1"})
    assert instruction == 'LABEL "a"="1" "b"="say \\"hi\\" \\$HOME \\\\o/"'


def test_labels_close_the_last_stage_without_target() -> None:
    result = with_labels(MULTI_STAGE, {"k": "v"}, None)
    assert result is not None
    assert result.endswith('RUN echo debug\nLABEL "k"="v"\n')


def test_labels_close_the_target_stage() -> None:
    result = with_labels(MULTI_STAGE, {"k": "v"}, "RUNTIME")
    assert result is not None
    lines = result.splitlines()
    label_at = lines.index('LABEL "k"="v"')
    assert lines[label_at + 1] == "FROM base AS debug"
    assert lines[label_at - 1] == "# a comment"


def test_continuation_lines_are_not_stages() -> None:
    result = with_labels(MULTI_STAGE, {"k": "v"}, "build")
    assert result is not None
    lines = result.splitlines()
    assert lines.index('LABEL "k"="v"') == 3  # after the continued RUN, before runtime


def test_unsafe_inputs_fall_back_to_the_api() -> None:
    assert with_labels(MULTI_STAGE, {"k": "two\nlines"}, None) is None
    assert with_labels(MULTI_STAGE, {"k": "v"}, "no-such-stage") is None
    assert with_labels("# escape=`\nFROM base\n", {"k": "v"}, None) is None
    assert with_labels("RUN nothing\n", {"k": "v"}, None) is None
    assert with_labels("FROM base\nRUN x \\\n", {"k": "v"}, None) is None
    assert with_labels("FROM base\n", {}, None) is None
