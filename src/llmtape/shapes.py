"""Credential shapes: text that looks like a key, a token or a password, whoever it belongs to.

Each shape is a pattern anchored at word boundaries plus a plausibility check of the part that
would be secret, so prose never trips it: a random-looking key has mixed characters and entropy,
while a hyphenated compound like ``risk-management-...-for-2025`` is words; a JWT's header decodes to JSON;
``Basic`` credentials decode to ``user:password``. The formats follow the public rules of the
established secret scanners (gitleaks, detect-secrets, trufflehog) for these providers.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MIN_ENTROPY = 3.0  # bits per character; random base62 text of 20 characters or more has over 4
MIN_AWS_ENTROPY = 2.5
MASK_LENGTH = 6  # a message shows at most this many characters of a credential
_WORDLIKE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_SEPARATORS = re.compile(r"[-_.~/+]+")
_BEFORE = r"(?<![A-Za-z0-9_-])"  # a credential starts a word: never inside risk-management
_AFTER = r"(?![A-Za-z0-9_-])"


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    counts, total = Counter(text), len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0


def random_looking(token: str) -> bool:
    """True for a token that reads as random characters, not as words, numbers or a placeholder."""
    pieces = _SEPARATORS.split(token)
    wordy = all(_WORDLIKE.fullmatch(piece) for piece in pieces if piece)
    return not wordy and entropy(token) >= MIN_ENTROPY


def _aws_key(token: str) -> bool:
    # Upper case and digits only, so no word test, and a lower bar: 16 random characters of 32 can
    # repeat a lot. AWS's documentation keys end in EXAMPLE.
    return entropy(token) >= MIN_AWS_ENTROPY and "EXAMPLE" not in token


def _decoded(token: str, urlsafe: bool = False) -> str | None:
    padded = token + "=" * (-len(token) % 4)
    try:
        data = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
        return data.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _jwt(token: str) -> bool:
    header = _decoded(token.split(".")[0], urlsafe=True)
    return header is not None and header.startswith("{") and header.rstrip().endswith("}")


def _basic(token: str) -> bool:
    text = _decoded(token.rstrip("="))
    if text is None or not text.isprintable():
        return False
    _, colon, password = text.partition(":")
    return bool(colon and password)


def _private_key(block: str) -> bool:
    return random_looking("".join(block.split()))


@dataclass(frozen=True, slots=True)
class Shape:
    """One kind of credential: its pattern (whose group ``secret`` is what must look secret) and the check."""

    kind: str
    pattern: re.Pattern[str]
    plausible: Callable[[str], bool] = random_looking

    def matches(self, text: str) -> Iterator[re.Match[str]]:
        """The plausible matches in ``text``."""
        return (m for m in self.pattern.finditer(text) if self.plausible(m["secret"]))

    def masked(self, match: re.Match[str]) -> str:
        """What a message shows of a match: its mask if it is plausible, else the text itself."""
        return mask(match[0]) if self.plausible(match["secret"]) else match[0]


def _shape(kind: str, pattern: str, plausible: Callable[[str], bool] = random_looking) -> Shape:
    return Shape(kind, re.compile(pattern), plausible)


SHAPES = [
    _shape("Anthropic key", _BEFORE + r"sk-ant-(?:[a-z]+\d\d-)?(?P<secret>[A-Za-z0-9_-]{32,})"),
    _shape("OpenAI key", _BEFORE + r"sk-(?!ant-)(?:(?:proj|svcacct|admin)-)?(?P<secret>[A-Za-z0-9_-]{20,})"),
    _shape("Groq key", _BEFORE + r"gsk_(?P<secret>[A-Za-z0-9]{32,})" + _AFTER),
    _shape("Google API key", _BEFORE + r"(?P<secret>AIza[A-Za-z0-9_-]{35})" + _AFTER),
    _shape("Hugging Face token", _BEFORE + r"(?:hf_|api_org_)(?P<secret>[A-Za-z0-9]{34})" + _AFTER),
    _shape(
        "AWS access key",
        r"(?<![A-Z0-9])(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})(?![A-Z0-9])",
        _aws_key,
    ),
    _shape(
        "AWS secret key",
        r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        _aws_key,
    ),
    _shape("GitHub token", _BEFORE + r"gh[pousr]_(?P<secret>[A-Za-z0-9]{36})" + _AFTER),
    _shape("GitHub token", _BEFORE + r"github_pat_(?P<secret>[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + _AFTER),
    _shape("Slack token", _BEFORE + r"(?P<secret>xox[abposre]-[0-9]{8,}-[A-Za-z0-9-]{10,})"),
    _shape(
        "Slack webhook",
        r"hooks\.slack\.com/services/(?P<secret>T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,})",
    ),
    _shape(
        "Azure client secret",
        r"(?<![A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])",
    ),
    _shape("Azure storage key", r"(?i:AccountKey|SharedAccessKey)=(?P<secret>[A-Za-z0-9+/]{40,}={0,2})"),
    _shape(
        "JSON Web Token",
        _BEFORE + r"(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
        _jwt,
    ),
    _shape(
        "Basic credentials", r"\b(?i:basic)\s+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])", _basic
    ),
    _shape("bearer token", r"\b(?i:bearer)\s+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)"),
    _shape(
        "private key",
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----(?P<secret>[A-Za-z0-9+/=\s]{64,})",
        _private_key,
    ),
]


def mask(credential: str) -> str:
    """A credential as a message may show it: its first few characters, ``sk-pro…``."""
    return credential[:MASK_LENGTH].rstrip() + "…"


def credential_shapes(text: str) -> list[str]:
    """What looks like a credential in ``text``, each shown masked: ``OpenAI key sk-pro…``."""
    return [f"{shape.kind} {mask(m[0])}" for shape in SHAPES for m in shape.matches(text)]


def masked_shapes(text: str) -> str:
    """``text`` with every credential-shaped value replaced by its mask."""
    for shape in SHAPES:
        text = shape.pattern.sub(shape.masked, text)
    return text
