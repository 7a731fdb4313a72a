"""Client CPU to read one streamed ~1,000-word answer in ~1,300 chunks (issue 20, item 3).

    python -m bench.stream_cost [--runs 50] [--chunks 1300]     (prints one JSON line)

The fake OpenAI-compatible server runs in a child process at L=0, so ``time.process_time()``
around each call counts the client alone. Medians (and p90) of ``runs`` calls of:

- ``sdk``: the openai SDK's own stream, a ``ChatCompletionChunk`` per chunk (the code before
  app/llm/stream.py), folded into text, finish reason, refusal and usage;
- ``lean``: ``OpenAIProvider.generate`` as the worker calls it (the request through the SDK, the
  bytes through app/llm/stream.py, the integrity checks, a checkpoint per read);
- ``transport``: the same request with its body read and thrown away (httpx2 and h11 decoding
  1,300 HTTP chunks: the floor a streamed call cannot go under with this client);
- ``non_streamed``: one non-streamed request for the same answer, for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from app.llm.base import ArticleRequest
from app.llm.openai_provider import OpenAIProvider
from app.llm.prompt import build_messages

# Asks the fake for an English article of about 1,050 words.
REQUEST = ArticleRequest(title="Tidal power for small harbours", category="energy",
                         min_length=1000, max_length=1200)


@contextmanager
def fake_server(chunks: int) -> Iterator[str]:
    """tests.support.fake_openai in a child process at L=0; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.fake_openai", "--port", "0",
                             "--chunks", str(chunks)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        if not url.startswith("http"):
            raise RuntimeError("the fake OpenAI server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _cpu_ms(call: Callable[[], object], runs: int) -> dict[str, float]:
    call()  # warm: connection pool, imports, lazy SDK models
    times = []
    for _ in range(runs):
        start = time.process_time()
        call()
        times.append((time.process_time() - start) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2),
            "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2)}


def measure(runs: int = 50, chunks: int = 1300) -> dict[str, Any]:
    """ms of client CPU per answer for each way of reading it (see the module's docstring)."""
    with fake_server(chunks) as url:
        provider = OpenAIProvider(api_key="sk-bench", base_url=url, model="bench-model",
                                  timeout=60, max_tokens=4000, temperature=0.7)
        client = provider.client
        kwargs: dict[str, Any] = {"model": "bench-model", "messages": build_messages(REQUEST),
                                  "max_tokens": 4000}
        stream_kwargs = {**kwargs, "stream": True, "stream_options": {"include_usage": True}}

        def sdk() -> tuple[str, str | None]:
            parts, finish, usage = [], None, None
            with client.chat.completions.create(**stream_kwargs) as stream:
                for chunk in stream:
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices:
                        if choice.delta is not None and choice.delta.content:
                            parts.append(choice.delta.content)
                        if choice.finish_reason:
                            finish = choice.finish_reason
            assert usage is not None
            return "".join(parts), finish

        def lean() -> str:
            return provider.generate(REQUEST, lambda _size: None).content

        def transport() -> int:
            read = 0
            with client.chat.completions.with_streaming_response.create(**stream_kwargs) as r:
                for data in r.http_response.iter_bytes():
                    read += len(data)
            return read

        def non_streamed() -> str:
            return client.chat.completions.create(**kwargs).choices[0].message.content or ""

        # The same prompt gets another variant of the article each time: compare the ends.
        text, finish = sdk()
        assert finish == "stop" and lean(), "a reader did not get a whole answer"
        figures = {name: _cpu_ms(call, runs) for name, call in (
            ("sdk", sdk), ("lean", lean), ("transport", transport),
            ("non_streamed", non_streamed))}
    sdk_ms, lean_ms = figures["sdk"]["median_ms"], figures["lean"]["median_ms"]
    return {
        "words": len(text.split()), "chunks": chunks, "runs": runs, **figures,
        "saved_ms": round(sdk_ms - lean_ms, 2),
        "lean_over_transport_ms": round(lean_ms - figures["transport"]["median_ms"], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=1300)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs, args.chunks)))


if __name__ == "__main__":
    main()
