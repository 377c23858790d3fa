"""Code versus prose: :func:`code_score`, a hand-written line classifier (pure Python and ``re``).

Each line gets code evidence (statement keywords, trailing ``;``/``{``, assignments, calls, tags,
``key: value`` config lines, shell commands, SQL statements, operator and symbol density) and prose
evidence (function words in several languages, sentence punctuation, capitalised sentence starts,
runs of plain words, CJK script). Comments and docstrings are neutral, log and stack-trace lines vote
for text, and the line votes are averaged with a weight that grows with line length. A score above
0.5 means code; a tie (no evidence either way, e.g. an empty string) is text. No model, no download.
See ``docs/detect_kind.md``.
"""

from __future__ import annotations

import math
import re

from ._code_lexicon import (
    CODE_KEYWORDS,
    PROSE_STOPWORDS,
    SHELL_COMMANDS,
    SQL_KEYWORDS,
    WEAK_STOPWORDS,
)
from .errors import InputError

__all__ = ["MAX_CHARS", "MAX_LINES", "code_score"]

MAX_CHARS = 3000
"""Only the first ``MAX_CHARS`` characters of a text are looked at (cut at a line end)."""
MAX_LINES = 60
"""And at most this many non-blank lines."""
_EARLY_STOP_LINES = 12
_EARLY_STOP_MARGIN = 1.2
_EARLY_STOP_WEIGHT = 10.0  # about 400 characters of clear evidence


_LOG_LINE = re.compile(
    r"""^(?:
      Traceback\ \(most\ recent\ call\ last\)
    | File\ ".*",\ line\ \d+
    | at\ [\w$.<>\[\]/\\ -]+(?:\(.*\))?$
    | \.\.\.\ \d+\ (?:more|common\ frames)
    | (?:Caused\ by|Exception\ in\ thread\ ".*?")(?::|\ )
    | [\w.$]*(?:Error|Exception|Warning|Interrupt|Exit)(?:\ \[.*?\])?:\ \S
    | (?:panic|fatal\ error|goroutine\ \d+\ \[|thread\ '.*?'\ panicked|exit\ status\ \d)
    | (?:[A-Z][a-z]+\ )?(?:note|help|warning|error|Warning|Error|ERROR|Notice)(?:\[\w+\])?:\ 
    | \#\d+\ +[/\w{]
    | [IWEF]\d{4}\ \d\d:\d\d:\d\d
    | \S+\ (?:ERR!|WARN)\ 
    | Step\ \d+/\d+\ :
    | -+>\ 
    | (?:Collecting|Downloading|Installing|Successfully|Requirement\ already|Building|Compiling|Finished|Resolving|Fetching|Unpacking|Setting\ up|Processing|Preparing|Stack\ trace:)\b
    | (?:FAILED|PASSED|SKIPPED|XFAIL|XPASS|FAIL)\ (?![=(])
    | .*\[\ *\d+%\]$
    | \d{4}-\d\d-\d\d[\ T]\d\d:\d\d
    | \d\d:\d\d:\d\d[.,]\d+\ 
    | \[?\d{4}[-/]\d\d[-/]\d\d
    | \[\d+(?:\.\d+)?\]\ 
    | [\[<]?(?:INFO|WARN|WARNING|ERROR|DEBUG|TRACE|FATAL|CRITICAL|NOTICE|SEVERE)[\]>:]?\ (?![=(])
    | (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\ +\d+\ \d\d:\d\d:\d\d
    | \d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\ \S+\ \S+\ \[
    | [\w./\\-]+\.\w+:\d+(?::\d+)?(?::\ |\ \+0x[0-9a-f]+$|$)
    | \#\d+\ +0x[0-9a-f]+\ in\ 
    | \^+~*$
    )""",
    re.VERBOSE,
)
_COMMENT_CODE = re.compile(r"^(?://|/\*|\*/|<!--|\"\"\"|'''|r\"\"\"|#!|=begin|=end)")
_COMMENT_AMBIGUOUS = re.compile(
    r"^(?:#(?!include|define|if|endif|pragma|import|undef|\[|!)|--\s|;\s|%\s|rem\s)", re.IGNORECASE
)
_BULLET = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_STRINGS = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|(?<![\w'])'(?:[^'\\\n]|\\.)*'(?![\w'])")
_URL = re.compile(r"\b(?:https?|ftp|file)://\S+|\bwww\.\S+|\S+@\S+\.\w+")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_PROMPT = re.compile(r"^(?:\$|>>>|\.\.\.|PS [^>]{0,80}>|%|#)\s+(?=\S)")

# (pattern, weight): structural signs of a code line; the strongest match counts.
_CODE_STARTS: list[tuple[re.Pattern[str], float]] = [
    (re.compile(r"^from\s+[\w.]+\s+import\s"), 3.0),
    (re.compile(r"^(?:import|package)\s+[\w.*\"'{(]"), 2.0),
    (re.compile(r"^(?:async\s+|local\s+)?(?:def|fn|func|function)\s*[\w$]*\s*[(<]"), 3.0),
    (re.compile(r"^(?:if|elif|while|for|with|except|else|try)\b[^:]*:\s*[a-z_]\w*"), 1.5),
    (re.compile(r"^(?:async\s+)?(?:def|class|if|elif|else|for|while|try|except|finally|with)\b.*:$"), 2.5),
    (re.compile(r"^(?:const|let|var|val|auto|my|local)\s+(?:mut\s+)?[\w${}\[\], ]+\s*(?::[^=]+)?=(?!=)"), 2.5),
    (
        re.compile(
            r"^(?:pub(?:\(crate\))?\s+)?(?:class|struct|interface|enum|trait|impl|type|namespace|module|union)\s+[\w<]"
        ),
        1.5,
    ),
    (
        re.compile(
            r"^(?:public|private|protected|internal|static|final|abstract|override|virtual|export|default)\s+\w"
        ),
        1.5,
    ),
    (re.compile(r"^#\s*(?:include|define|ifn?def|endif|pragma|import|undef|if)\b"), 3.0),
    (re.compile(r"^#\[\w"), 2.0),
    (re.compile(r"^(?:if|while|for|switch|catch|foreach|elseif|using|lock)\s*\("), 2.0),
    (
        re.compile(
            r"^(?:return|raise|throw|yield|await|break|continue|del|assert|echo|print|puts|exit|die|require|include|unset|shift|trap|declare)\b(?!\s+(?:the|a|an|to|of|it|me|you|this|that|your|our|my)\b)"
        ),
        1.2,
    ),
    (re.compile(r"^(?:case\s+.+|default):$"), 1.5),
    (re.compile(r"^@[A-Za-z_][\w.]*(?:\(.*\))?$"), 1.8),
    (
        re.compile(
            r"^(?:SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE|ALTER|DROP|WITH|FROM|WHERE|GRANT|REVOKE|EXPLAIN|SHOW|DESCRIBE|VACUUM|GROUP\s+BY|ORDER\s+BY|(?:LEFT|RIGHT|INNER|OUTER|FULL|CROSS)?\s*JOIN|VALUES|LIMIT|HAVING|UNION|SET|AND|OR|ON|BEGIN|COMMIT|TRUNCATE)\b(?!\s+[a-z]+\s+[a-z]+\s+[a-z]+\s)"
        ),
        1.8,
    ),
    (
        re.compile(
            r"^(?:FROM|RUN|COPY|ADD|CMD|ENTRYPOINT|ENV|ARG|WORKDIR|EXPOSE|USER|LABEL|VOLUME|HEALTHCHECK|ONBUILD|SHELL|STOPSIGNAL)\s+\S"
        ),
        2.0,
    ),
    (re.compile(r"^</?[a-zA-Z][\w:-]*(?:\s[^>]*)?/?>|^<!(?:DOCTYPE|doctype|--)|^<\?xml"), 2.5),
    (re.compile(r"^\"[^\"]*\"\s*:\s*\S?"), 2.0),
    (re.compile(r"^\[[\w.\-\" ]+\]$"), 1.5),
    (re.compile(r"^\.[A-Za-z_]\w*\s*[(<]"), 2.0),
    (re.compile(r"^[\]\)\}]+[\]\)\};,]*$|^(?:fi|esac|end|endif|done|EOF|\*/)$"), 1.5),
    (
        re.compile(
            r"^[A-Za-z_$][\w$]*(?:\s*(?:\.|::|->)\s*[A-Za-z_$][\w$]*)*(?:<[^>]*>)?(?:\[[^\]]*\])*(?:\s*,\s*[A-Za-z_$][\w$]*)*\s*(?::\s*[\w\[\], .|]+)?\s*(?:=|:=|\+=|-=|\*=|/=|%=|\|=|&=|\?\?=|<<=|>>=|\^=|\|\|=)\s*(?!=)\S"
        ),
        2.0,
    ),
    (re.compile(r"^[A-Z]?[a-z_]\w*(?:<[^>]*>|\[\])?\**\s+\**[a-z_]\w*\s*(?:=(?!=)|;|,|\[)"), 1.5),
    (re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)*(?:<[^>]*>)?!?\(.*[),;{]$"), 1.8),
    (re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)*!?\($"), 1.5),
]
# One alternation, strongest first: at the anchored start the first alternative that matches is
# the strongest one, so a single search replaces a loop over the table.
_CODE_START_WEIGHTS = sorted({w for _, w in _CODE_STARTS}, reverse=True)
_CODE_START = re.compile(
    "|".join(
        f"(?P<w{i}>{'|'.join(f'(?:{p.pattern})' for p, w in _CODE_STARTS if w == weight)})"
        for i, weight in enumerate(_CODE_START_WEIGHTS)
    )
)
_SHELL_STRONG = re.compile(r"(?:^|\s)--?[A-Za-z0-9]|\||&&|>|<|\$\(|\$\{?\w|/|=|\*|~|\.\w{1,5}\b")
_SQL_START = re.compile(
    r"^(?:select|grant|revoke|explain|show\s+(?:tables|databases|columns|index)|describe|insert\s+into|update\s+\w+\s+set|delete\s+from|create\s+(?:table|index|view|unique|database|schema)|alter\s+table|drop\s+(?:table|index|view|database)|with\s+\w+\s+as\s*\()\b",
    re.IGNORECASE,
)
_OPERATORS = re.compile(r"[=!&|:+\-<>?][=&|:+\-<>.]")
_CALL = re.compile(r"[\w$\]>]\(")
_ATTR = re.compile(r"\.[A-Za-z_]")
_RULE_CHARS = "=*~-_#+ "
_PUNCT = ".,;:!?()[]{}\"'«»“”„‘’¿¡…"
_DROP_SYMBOLS = str.maketrans("", "", "{}[]();=<>|&*$\\")
_YAML_KEY = re.compile(r"^([A-Za-z_][\w.-]*):(?:\s+(.*))?$")
_SENTENCE_END = re.compile(r"(?:[^\W\d_]|[)\"'”»%\d])[.!?…]+[\"'”»)]*$|[。！？]$|(?<=[^\W\d_])\s[?!:]$")
_SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-ZÀ-ÖØ-ÞА-ЯЁ]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u3000-\u303f\uff01-\uff5e]")
_FENCE = re.compile(r"^(?:```|~~~)")


def _code_evidence(s: str, c: str, raw: str) -> float:
    """Code evidence for one stripped line ``s``; ``c`` has strings and inline code blanked."""
    m_start = _CODE_START.match(c)
    best = _CODE_START_WEIGHTS[int(m_start.lastgroup[1:])] if m_start and m_start.lastgroup else 0.0
    score = best
    tail = c[-1:]
    if tail == ";" and len(c) > 1 and not c[-2].isspace():
        score += 1.2
    elif tail == "{" or tail == "\\":
        score += 1.0
    elif tail == "," and best > 0:
        score += 0.3
    first = s.split(None, 1)[0] if s else ""
    if first in SHELL_COMMANDS:
        stop = sum(1 for w in c.lower().split() if w.strip(_PUNCT) in PROSE_STOPWORDS)
        strong = _SHELL_STRONG.search(c) is not None
        if (stop == 0 or (stop == 1 and strong)) and (s[-1] not in ".?!" or s.endswith("..")):
            score += 2.2 if strong else (1.4 if len(s.split()) <= 4 else 0.6)
    elif _SQL_START.match(c):
        tokens = [w.strip(_PUNCT) for w in c.lower().split()]
        stop = sum(1 for w in tokens if w in PROSE_STOPWORDS)
        sql = sum(1 for w in tokens if w in SQL_KEYWORDS)
        if stop == 0 or (stop == 1 and sql >= 4):
            score += 3.0 if sql >= 3 else 2.2
    m = _YAML_KEY.match(c) if best == 0 else None
    if m and "://" not in c:
        key, value = m.group(1), (m.group(2) or "")
        capital_word = key[0].isupper() and key[1:].islower()
        words = value.split()
        if not value:
            score += 0.6 if capital_word else 1.3
        elif not capital_word and len(words) <= 5 and not any(w.lower() in PROSE_STOPWORDS for w in words):
            score += 1.3
        else:
            score += 0.3
    n_ops = len(_OPERATORS.findall(c))
    if n_ops:
        score += min(0.45 * n_ops, 1.2)
    if "(" in c:
        n_calls = len(_CALL.findall(c))
        if n_calls:
            score += min(0.3 * n_calls, 0.9)
    n_ids = len(_ATTR.findall(c)) if "." in c else 0
    n_kw = 0
    for t in _IDENT.findall(c):
        if t in CODE_KEYWORDS:
            n_kw += 1
        elif "_" in t.strip("_$") or (not t.islower() and not t.isupper() and not t.istitle()):
            n_ids += 1  # snake_case, camelCase, PascalCase
    if n_ids:
        score += min(0.2 * n_ids, 0.6)
    if n_kw:
        score += min(0.5 * n_kw, 1.5)
    nonspace = len(c) - c.count(" ")
    if nonspace >= 3:
        dens = (len(c) - len(c.translate(_DROP_SYMBOLS))) / nonspace
        score += min(dens * 8.0, 1.5)
    if raw[:1] == "\t" or raw[:2] == "  ":
        score += 0.3
    return score


def _prose_evidence(p: str) -> float:
    """Prose evidence for one line ``p`` (bullets, strings and inline code already removed)."""
    score = 0.0
    if not p.isascii():
        cjk = len(_CJK.findall(p))
        if cjk >= 2 and cjk >= 0.3 * (len(p) - p.count(" ")):
            score += 1.5 + min(cjk / 8.0, 2.0)
    nw = 0
    stop = 0.0
    run = best_run = 0
    first = ""
    for token in p.split():
        word = token.strip(_PUNCT)
        if not word.isalpha():
            run = 0
            continue
        if not first:
            first = word
        nw += 1
        lw = word.lower()
        if lw in PROSE_STOPWORDS:
            stop += 1.0
        elif lw in WEAK_STOPWORDS:
            stop += 0.5
        run = run + 1 if token[-1:] in ",;" or token == word else 1
        best_run = max(best_run, run)
        if token != word and token[-1:] not in ",;":
            run = 0
    if nw == 0:
        return score
    score += min(0.6 * stop, 2.0)
    if stop and nw >= 4:
        score += min(stop / nw, 0.5)
    if _SENTENCE_END.search(p[-8:]) and not p.endswith(".."):
        score += 1.4 if nw >= 4 else 0.7
    if nw >= 3 and p.startswith(first + " ") and first[0].isupper() and not first.isupper():
        score += 0.5
    if nw >= 5 and _SENTENCE_BREAK.search(p):
        score += 0.6
    if best_run >= 5:
        score += 0.7
    if nw >= 12:
        score += 0.5
    return score


def _truncate(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_CHARS)
    return text[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]


def _analyse(lines: list[str]) -> tuple[float, float, int, int]:
    """Weighted net evidence, total weight, log lines and scored lines for a list of raw lines."""
    total = weight = 0.0
    n_log = n_scored = 0
    in_block: str | None = None
    for raw in lines:
        s = raw.strip()
        if not s:
            continue
        if in_block is not None:
            if in_block in s:
                in_block = None
            total += 0.3
            weight += 0.3
            continue
        if not s.strip(_RULE_CHARS):
            continue  # a rule / underline: ----, ====, ***
        if _LOG_LINE.match(s):
            n_log += 1
            continue
        if _COMMENT_CODE.match(s):
            for opener, closer in (("/*", "*/"), ('"""', '"""'), ("'''", "'''"), ("<!--", "-->")):
                if s.lstrip("r").startswith(opener):
                    rest = s.lstrip("r")[len(opener) :]
                    if closer not in rest:
                        in_block = closer
                    break
            total += 0.3
            weight += 0.3
            continue
        if _COMMENT_AMBIGUOUS.match(s) and not _PROMPT.match(s):
            continue
        prompt = _PROMPT.match(s)
        bonus = 0.0
        if prompt and s[0] != "#":
            s = s[prompt.end() :]
            bonus = 1.5
        elif prompt:
            continue
        p = s
        bullet = _BULLET.match(s)
        if bullet:
            p = s[bullet.end() :]
            if not p:
                continue
        elif s[0] == "|" and s[-1] == "|":  # markdown table row: judge the cells
            if not s.strip("|-: "):
                continue
            p = s.strip("|").replace("|", ",")
        elif s[0] == ">" and s[:2] != ">>" and s[:2] != "=>":
            p = s[1:].lstrip()
            if not p:
                continue
        if "://" in p or "www." in p or "@" in p:
            p = _URL.sub(" u ", p)
        c = _INLINE_CODE.sub(" x ", p)
        if "'" in c or '"' in c:
            c = _STRINGS.sub('""', c)
        code = _code_evidence(p, c, raw) + bonus
        prose_src = c.replace('""', " ").strip()
        prose = _prose_evidence(prose_src) if prose_src else 0.0
        net = max(-4.0, min(4.0, code - prose))
        w = max(0.5, min(len(s) / 40.0, 2.5))
        total += w * net
        weight += w
        n_scored += 1
        if (n_scored >= _EARLY_STOP_LINES or weight >= _EARLY_STOP_WEIGHT) and abs(
            total
        ) >= _EARLY_STOP_MARGIN * weight:
            break  # the verdict is clear; long inputs stay cheap
    return total, weight, n_log, n_scored


def code_score(text: str) -> float:
    """How much ``text`` looks like code, in ``(0, 1)``; above 0.5 means code.

    Only the first :data:`MAX_CHARS` characters / :data:`MAX_LINES` non-blank lines are read.
    Text with no evidence either way (empty, only comments) scores below 0.5 (the tie goes to text).
    """
    if not isinstance(text, str):
        raise InputError(f"code_score() needs a str, got {type(text).__name__}.")
    text = _truncate(text)
    lines = [ln for ln in text.splitlines() if ln.strip()][:MAX_LINES]
    if not lines:
        return 0.4
    inside: list[str] = []
    outside: list[str] = []
    if any(_FENCE.match(ln.lstrip()) for ln in lines):
        fenced = False
        for ln in lines:
            if _FENCE.match(ln.lstrip()):
                fenced = not fenced
            else:
                (inside if fenced else outside).append(ln)
        total, weight, n_log, n_scored = _analyse(outside)
        if n_scored == 0 and n_log == 0:
            total, weight, n_log, n_scored = _analyse(inside)
        elif total < weight * 0.5:  # prose around the fences: markdown is text
            return _squash(min(total, 0.0) - 1.0, weight)
    else:
        total, weight, n_log, n_scored = _analyse(lines)
    if n_log and n_log >= 0.3 * (n_log + n_scored):
        return _squash(-2.0 * n_log, weight + n_log)
    return _squash(total, weight)


def _squash(total: float, weight: float) -> float:
    avg = total / (weight + 0.5) - 0.05  # the small offset breaks exact ties towards text
    return 1.0 / (1.0 + math.exp(-2.0 * avg))
