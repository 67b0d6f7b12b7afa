"""Credential-shaped values for the secret tests, built at run time from a seeded random source, so that
no key-shaped literal sits in the repository (secret scanners and push protection would flag one)."""

from __future__ import annotations

import base64
import json
import random
import string

ALPHANUMERIC = string.ascii_letters + string.digits
URL_SAFE = ALPHANUMERIC + "-_"


def random_text(length: int, alphabet: str = ALPHANUMERIC, seed: int = 0) -> str:
    """``length`` characters drawn from ``alphabet``, the same for the same seed."""
    chosen = random.Random(f"{seed}-{length}-{alphabet}")
    return "".join(chosen.choice(alphabet) for _ in range(length))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(seed: int = 0) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"sub": random_text(12, seed=seed), "iat": 1700000000}).encode())
    return f"{header}.{claims}.{random_text(43, URL_SAFE, seed)}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def credentials(seed: int = 0) -> dict[str, str]:
    """One credential of each shape the gate knows, by the name it reports."""
    upper = string.ascii_uppercase
    return {
        "OpenAI key": "sk-proj-" + random_text(48, URL_SAFE, seed),
        "OpenAI key (legacy)": "sk-"
        + random_text(20, seed=seed)
        + "T3BlbkFJ"
        + random_text(20, seed=seed + 1),
        "Anthropic key": "sk-ant-api03-" + random_text(93, URL_SAFE, seed) + "AA",
        "Groq key": "gsk_" + random_text(52, seed=seed),
        "Google API key": "AIza" + random_text(35, URL_SAFE, seed),
        "Hugging Face token": "hf_" + random_text(34, string.ascii_letters, seed),
        "AWS access key": "AKIA" + random_text(16, upper + "234567", seed),
        "GitHub token": "ghp_" + random_text(36, seed=seed),
        "GitHub token (fine-grained)": "github_pat_"
        + random_text(22, seed=seed)
        + "_"
        + random_text(59, seed=seed),
        "Slack token": f"xoxb-{random_text(11, string.digits, seed)}-{random_text(12, string.digits, seed)}-"
        + random_text(24, seed=seed),
        "Azure client secret": random_text(3, seed=seed)
        + "8Q~"
        + random_text(34, ALPHANUMERIC + "_~.-", seed),
        "JSON Web Token": jwt(seed),
        "Basic credentials": basic("ada", random_text(16, seed=seed)),
        "bearer token": "Bearer " + random_text(40, URL_SAFE, seed),
    }
