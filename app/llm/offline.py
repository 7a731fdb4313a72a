"""A deterministic placeholder writer used when no LLM is configured.

Its drafts are labelled as placeholders (provider "offline-placeholder"): they let the whole
pipeline run, and be demonstrated, on a machine with no API key and no network.
"""

from __future__ import annotations

import time

from app.llm.base import ArticleRequest, Checkpoint, Generated

PROVIDER_NAME = "offline-placeholder"


def draft(request: ArticleRequest) -> str:
    title, category = request.title, request.category
    sections = [
        (
            "Overview",
            f"This {category} article looks at **{title}**: what it is, why it "
            "matters to readers, and where to start.",
        ),
        (
            "Key points",
            f"- What a reader should know first about {title}.\n"
            f"- The questions people most often ask in the {category} category.\n"
            "- Common mistakes, and how to avoid them.",
        ),
        (
            "Step by step",
            "1. Define the goal and the audience.\n2. Gather trustworthy "
            "sources.\n3. Compare the options side by side.\n4. Decide, then review the result.",
        ),
        (
            "Conclusion",
            f"{title} rewards a careful, well-informed approach. Replace this "
            "placeholder by configuring an LLM provider (OPENAI_API_KEY or OPENAI_BASE_URL).",
        ),
    ]
    body = "\n\n".join(f"## {head}\n\n{text}" for head, text in sections)
    return (
        f"# {title}\n\n"
        f"> Placeholder draft written by the offline provider, not by a language model.\n\n"
        f"{body}\n"
    )


class OfflineProvider:
    name = PROVIDER_NAME
    model = "offline-template-v1"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def generate(self, request: ArticleRequest, checkpoint: Checkpoint) -> Generated:
        content = draft(request)
        # "Stream" it in a few steps so cancellation and heartbeats behave as with a real LLM.
        steps = 5
        for step in range(1, steps + 1):
            if self.delay:
                time.sleep(self.delay / steps)
            checkpoint(len(content) * step // steps)
        words = len(content.split())
        return Generated(
            content=content,
            provider=self.name,
            model=self.model,
            prompt_tokens=len(request.title.split()) + 60,
            completion_tokens=words,
        )
