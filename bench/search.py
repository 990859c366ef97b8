"""Search: a conference of N posts (default 100,000) of English-like text, searched through the
HTML page and the JSON API by C concurrent clients (default 2, one per core) for a few seconds
per query type.

Text: words drawn with Zipf-Mandelbrot frequencies from a council-flavoured vocabulary plus a
long tail of made-up names, about 40% function words, sentences, now and then Markdown; so some
terms are in a third of all posts, some in a few dozen, and a few collocations ("social media")
make phrase searches meaningful. 1% of posts are hidden and 0.5% pending (search skips them).

Query types: a rare term (tens of posts), a common term (a third of all posts), two terms, a
phrase, a common term within one session, a term by one author, and a common term searched by an
organiser (who also finds hidden and pending posts). Each type runs with C clients, each on its
own keep-alive connection and its own term of that type, in load-worker processes. Per type and
interface: p50/p95/p99/max and requests/s, and the CPU used by the server, PostgreSQL, the load
workers and everything else (other engineers' work on a shared machine shows there).

Target (issue "Performance", not asserted): p95 <= 50 ms over 100,000 posts on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import asyncpg

from bench import common

SLUG = "bench-search"
TARGET_P95_MS = 50

FUNCTION_WORDS = (
    "the of and to a in that is for it as with was on be by this are we not at have or "
    "from but they an which their has been will more can our all would there about if "
    "so what also than when who them these its some should into very could other just "
    "how our over only most any may those because after where then each before while"
).split()

# Roughly in order of how often a council discussion would use them.
CONTENT_WORDS = (
    "council residents community services people local budget support councillors "
    "housing social media policy time engagement public work online consultation "
    "officers data funding needs schools team staff ward planning transport children "
    "care health digital change information report meeting members approach issue "
    "questions example experience questions decision process partners evidence cost "
    "young older families access website feedback problem risk trust staff system "
    "year years week month point groups voice voices training democracy scrutiny "
    "library libraries parks roads repairs waste recycling collection bins parking "
    "buses trains cycling walking safety police crime flooding climate carbon energy "
    "heating homes tenants landlords rents homelessness benefits poverty food bank "
    "volunteers charities businesses high street markets tourism culture museum "
    "leisure centre swimming football events festival arts heritage conservation "
    "trees green spaces allotments footpaths potholes lighting signage highways "
    "adult mental wellbeing isolation loneliness carers disability accessibility "
    "inclusion equality diversity language translation interpreters literacy "
    "skills apprenticeships jobs employment economy growth investment regeneration "
    "development developers applications objections appeals committee cabinet mayor "
    "leader chief executive director manager officer clerk parish town county "
    "district borough unitary combined authority government minister parliament "
    "legislation guidance statutory duty obligation compliance audit finance "
    "reserves savings cuts pressures demand capacity contracts procurement supplier "
    "technology software platform app email newsletter facebook twitter instagram "
    "youtube livestream webcast recording minutes agenda papers transparency "
    "openness accountability complaints abuse harassment moderation guidelines "
    "respect tone comments replies threads posts messages followers audience reach "
    "campaign survey petition ballot election candidates turnout registration "
    "postal polling boundaries review strategy plan priorities outcomes targets "
    "performance measures indicators benchmarking learning sharing practice case "
    "studies pilot trial scheme project programme initiative network forum "
    "workshop webinar conference session panel speaker chair facilitator question "
    "answer discussion debate opinion views concerns worries fears hopes ideas "
    "suggestions proposals options choices alternatives priorities resources "
    "guidance toolkit template checklist framework standards quality excellent "
    "difficult important useful helpful clear simple complex different similar "
    "better worse faster slower cheaper expensive fair unfair rural urban coastal "
    "village city neighbourhood estate street area region north south east west "
    "morning afternoon evening weekend monday tuesday wednesday thursday friday "
    "agree disagree think believe know understand explain listen hear learn share "
    "help improve reduce increase protect encourage involve consult inform respond "
    "decide deliver manage lead build create develop design test measure publish"
).split()

COLLOCATIONS = (
    "social media",
    "young people",
    "mental health",
    "climate change",
    "high street",
    "food bank",
    "public health",
    "local plan",
)

# Syllables for the long tail: made-up place and scheme names, each rare.
_ONSETS = "b br c ch d dr f g gr h k l m n p pr r s sh st t th tr v w wh".split()
_NUCLEI = "a e i o u ai ea ee oo ou".split()
_CODAS = "ck ft ld lm mb nd ng nk rn rt sh st th ton ham ley by wick".split()


def _tail_words(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    seen = set(CONTENT_WORDS) | set(FUNCTION_WORDS)
    out: list[str] = []
    while len(out) < count:
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_NUCLEI) for _ in range(rng.randint(1, 2))
        ) + rng.choice(_CODAS)
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


class Vocabulary:
    """Zipf-Mandelbrot frequencies, 1 / (rank + 10) ** 1.05: English-like, with the head
    flattened so that the commonest content word is in about a third of posts, not all."""

    def __init__(self, tail: int = 15000, exponent: float = 1.05, shift: int = 10) -> None:
        self.content = list(dict.fromkeys(CONTENT_WORDS)) + _tail_words(tail)
        self._content_cw = list(
            itertools.accumulate(
                1 / ((r + shift) ** exponent) for r in range(1, len(self.content) + 1)
            )
        )
        self.function = FUNCTION_WORDS
        self._function_cw = list(
            itertools.accumulate(1 / r for r in range(1, len(self.function) + 1))
        )

    def words(self, rng: random.Random, n: int) -> list[str]:
        n_function = min(n, max(0, round(rng.gauss(0.4 * n, 0.05 * n))))
        content = rng.choices(self.content, cum_weights=self._content_cw, k=n - n_function)
        function = rng.choices(self.function, cum_weights=self._function_cw, k=n_function)
        for i in range(len(content)):
            if rng.random() < 0.02:  # collocations, so that phrase searches find something
                content[i] = rng.choice(COLLOCATIONS)
        words = content + function
        rng.shuffle(words)
        return words

    def post(self, rng: random.Random) -> str:
        """A post of 8 to ~250 words in sentences, sometimes with Markdown."""
        n = min(250, max(8, int(rng.lognormvariate(3.6, 0.7))))
        words = self.words(rng, n)
        sentences = []
        i = 0
        while i < len(words):
            k = rng.randint(6, 18)
            chunk = words[i : i + k]
            i += k
            sentence = " ".join(chunk)
            sentences.append(sentence[:1].upper() + sentence[1:] + rng.choice(".....?!"))
        text = " ".join(sentences)
        roll = rng.random()
        if roll < 0.05:
            text = "**" + text.replace(". ", ".** ", 1)
        elif roll < 0.08:
            text += f"\n\nSee [our {words[0]} page](https://example.org/{words[-1]})."
        elif roll < 0.10:
            text = text.replace(". ", ".\n\n- ", 2)
        return text

    def title(self, rng: random.Random) -> str:
        words = rng.choices(self.content[:300], cum_weights=self._content_cw[:300], k=4)
        text = " ".join(words)
        return text[:1].upper() + text[1:]


VOCABULARY = Vocabulary()


# --- the benchmark ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchConfig:
    posts: int = 100_000
    # Concurrent clients per query type: one per core. Searches are occasional next to page
    # views; with more clients than cores the machine is saturated and p95 measures the queue.
    clients: int = 2
    seconds: float = 5.0  # per query type and interface
    processes: int = 1  # load-worker processes
    sessions: int = 5
    threads_per_session: int = 20
    members: int = 200
    together: bool = False  # every scenario at once (the smoke run: one load window)
    profile: bool = False
    only: str | None = None
    server_root: str | None = None


SMOKE = SearchConfig(
    posts=2_000, clients=1, seconds=1.0, sessions=2, threads_per_session=3, members=20,
    together=True,
)  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = SearchConfig()
    arg = p.add_argument
    arg("--posts", type=int, default=d.posts, help="posts in the conference")
    arg("--clients", type=int, default=d.clients, help="concurrent clients per query type")
    arg("--seconds", type=float, default=d.seconds, help="seconds per query type and interface")
    arg("--processes", type=int, default=d.processes, help="load-worker processes")
    arg("--only", help="run only the scenarios whose name contains this text")
    arg("--profile", action="store_true", help="py-spy the server in each scenario")
    arg("--server-root", help="run `python -m confer` from this checkout")
    arg("--smoke", action="store_true", help="2,000 posts, every query type at once for 1 s")


def defaults() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


def _status(rng: random.Random) -> str:
    roll = rng.random()
    return "hidden" if roll < 0.01 else "pending" if roll < 0.015 else "visible"


async def document_frequency(dsn: str, words: list[str]) -> dict[str, int]:
    """How many posts contain each word (or phrase), as the search sees it."""
    con = await asyncpg.connect(dsn)
    try:
        return {
            w: await con.fetchval(
                "SELECT count(*) FROM posts WHERE search @@ websearch_to_tsquery('english', $1)",
                w,
            )
            for w in words
        }
    finally:
        await con.close()


async def choose_terms(dsn: str, world: dict[str, Any], clients: int) -> dict[str, list[dict]]:
    """`clients` searches of each type, chosen by measured document frequency."""
    v = VOCABULARY
    tail = v.content[len(dict.fromkeys(CONTENT_WORDS)) :]
    candidates = tail[len(tail) // 3 :: max(1, len(tail) // 60)]
    df = await document_frequency(dsn, candidates)
    rare = sorted((w for w in candidates if df[w] > 0), key=lambda w: (df[w], w))[:clients]
    common_words = v.content[:clients]
    pairs = [f"{v.content[a]} {v.content[b]}" for a, b in ((6, 9), (7, 12), (10, 15), (13, 20))]
    phrases = [f'"{c}"' for c in COLLOCATIONS]
    sessions, users = world["session_ids"], world["user_ids"]
    cycle = itertools.cycle
    # Each is an endless generator of searches of its kind; clients take the first ones.
    kinds = {
        "rare term": ({"q": w} for w in cycle(rare)),
        "common term": ({"q": w} for w in cycle(common_words)),
        "two terms": ({"q": p} for p in cycle(pairs)),
        "phrase": ({"q": p} for p in cycle(phrases)),
        # The first session is the oldest: newest-first walks would cross every other session.
        "common term, one session": (
            {"q": w, "session_id": s}
            for w, s in zip(cycle(v.content[:4]), cycle([sessions[0], sessions[-1]]), strict=False)
        ),
        "term by one author": (
            {"q": w, "author_id": u}
            for w, u in zip(cycle(v.content[4:8]), cycle(users[:4]), strict=False)
        ),
        "common term, as organiser": ({"q": w} for w in cycle(common_words)),
    }
    out = {name: list(itertools.islice(gen, clients)) for name, gen in kinds.items()}
    return out


def scenarios(cfg: SearchConfig, terms: dict[str, list[dict]], token: str) -> list[dict]:
    out = []
    for name, searches in terms.items():
        for interface, base in (
            ("html", f"/c/{SLUG}/search"),
            ("api", f"/api/v1/conferences/{SLUG}/search"),
        ):
            headers = {"Accept": "text/html" if interface == "html" else "application/json"}
            if "organiser" in name:
                headers["Authorization"] = f"Bearer {token}"
            clients = [
                {"method": "GET", "path": f"{base}?{urlencode(s)}", "headers": headers}
                for s in searches
            ]
            out.append({"name": f"{name} — {interface}", "type": name, "interface": interface,
                        "searches": searches, "clients": clients})  # fmt: skip
    if cfg.only:
        out = [s for s in out if cfg.only in s["name"]]
    return out


async def check(http: aiohttp.ClientSession, base: str, s: dict[str, Any]) -> dict[str, Any]:
    """Each search once before the load: it must answer 200 and (but for stop words) find
    something; the JSON gives the number of matches."""
    totals = []
    for c in s["clients"]:
        async with http.get(base + c["path"], headers=c["headers"]) as r:
            body = await r.text()
            if r.status != 200:
                raise RuntimeError(f"{s['name']}: {c['path']} answered {r.status}: {body[:300]}")
        if s["interface"] == "api":
            data = json.loads(body)
            totals.append(data["total_text"])
            if not data["results"]:
                raise RuntimeError(f"{s['name']}: {c['path']} found nothing")
        elif "<mark>" not in body:
            raise RuntimeError(f"{s['name']}: {c['path']} shows no highlighted result")
    return {"totals": totals}


async def run(cfg: SearchConfig) -> dict[str, Any]:
    root = Path(cfg.server_root) if cfg.server_root else common.ROOT
    server = common.Server(root=root, extra_env={"RATE_LIMITS": "off"})
    record: dict[str, Any] = {
        "benchmark": "search",
        "params": asdict(cfg),
        "machine": common.machine_facts(),
        "target_p95_ms": TARGET_P95_MS,
        "results": [],
    }
    record["server_code"] = await asyncio.to_thread(common.git_state, server.root)
    try:
        server.start(demo=False)
        async with aiohttp.ClientSession() as http:
            await common.wait_until_up(http, server, 120)
            started = asyncio.get_running_loop().time()
            world = await common.load_conference(
                server.dsn,
                slug=SLUG,
                title="Search benchmark",
                posts=cfg.posts,
                text=VOCABULARY.post,
                thread_title=lambda rng, s, t: VOCABULARY.title(rng),
                status=_status,
                sessions=cfg.sessions,
                threads_per_session=cfg.threads_per_session,
                members=cfg.members,
            )
            record["load_seconds"] = round(asyncio.get_running_loop().time() - started, 1)
            organiser = world["user_ids"][-1]
            con = await asyncpg.connect(server.dsn)
            try:
                await con.execute(
                    "UPDATE memberships SET role = 'organiser' WHERE user_id = $1", organiser
                )
                # As a live database would be: vacuumed, its visibility map set.
                await con.execute("VACUUM ANALYZE posts")
            finally:
                await con.close()
            (token,) = await common.make_credentials(server.dsn, [organiser], "api")
            terms = await choose_terms(server.dsn, world, cfg.clients)
            record["terms"] = {
                name: await _with_frequencies(server.dsn, searches)
                for name, searches in terms.items()
            }
            plan = scenarios(cfg, terms, token)
            for s in plan:
                s["check"] = await check(http, server.url, s)
                for _ in range(3):  # warm up: templates compiled, caches filled
                    await check(http, server.url, s)
        if cfg.together:
            await _measure(server, cfg, plan, record)
        else:
            for s in plan:
                await _measure(server, cfg, [s], record)
    finally:
        server.stop()
    record["loadavg_after"] = common.loadavg()
    p95s = [r["latency_ms"]["p95"] for r in record["results"] if r["latency_ms"]["p95"]]
    record["worst_p95_ms"] = max(p95s) if p95s else None
    # All query types at once (the smoke run) is a check that everything works, not a figure.
    record["target_met"] = None if cfg.together else bool(p95s) and max(p95s) <= TARGET_P95_MS
    return record


async def _with_frequencies(dsn: str, searches: list[dict]) -> list[dict]:
    """The searches, each with the number of posts its words are in (filters aside)."""
    df = await document_frequency(dsn, sorted({s["q"] for s in searches}))
    return [dict(s, posts=df[s["q"]]) for s in searches]


async def _measure(
    server: common.Server, cfg: SearchConfig, plan: list[dict], record: dict[str, Any]
) -> None:
    """One load window for the scenarios in `plan` (their clients at once)."""
    clients, owner = [], []
    for i, s in enumerate(plan):
        clients += s["clients"]
        owner += [i] * len(s["clients"])
    meter = common.CpuMeter(server)
    profiler = common.Profiler(server, cfg.seconds) if cfg.profile else None
    load = await common.http_load(
        server.url,
        clients,
        seconds=cfg.seconds,
        processes=cfg.processes,
        on_start=lambda m=meter, p=profiler: (m.begin(), p and p.start()),
    )
    cpu = meter.end(load["cpu_seconds"])
    for i, s in enumerate(plan):
        rows = [r for r in load["rows"] if owner[r[0]] == i]
        figures = common.load_figures(rows, cfg.seconds, ok=[200])
        result = {
            "scenario": s["name"],
            "type": s["type"],
            "interface": s["interface"],
            "searches": s["searches"],
            **s["check"],
            "requests_per_second": figures["per_second"],
            "latency_ms": figures["latency_ms"],
            "statuses": figures["statuses"],
            "client_errors": load["errors"],
            "error_samples": load["error_samples"],
            "cpu": cpu,
            "server_rss_mb": common.rss_mb(server.pid)["rss_mb"],
        }
        if len(plan) == 1 and figures["per_second"]:
            # Server and PostgreSQL CPU per search: what the rest of the machine does moves
            # the latencies far more than this.
            busy = cpu["server_cores"] + cpu["postgres_cores"]
            result["cpu_ms_per_request"] = round(busy / figures["per_second"] * 1000, 1)
        if profiler and len(plan) == 1:
            result["profile"] = await profiler.finish("search")
        record["results"].append(result)
        lat = figures["latency_ms"]
        print(
            f"  {s['name']}: {figures['per_second']} req/s, p50 {lat['p50']} ms, "
            f"p95 {lat['p95']} ms, p99 {lat['p99']} ms",
            flush=True,
        )


def print_record(record: dict[str, Any]) -> None:
    p = record["params"]
    print(
        f"search: {p['posts']:,} posts (loaded in {record['load_seconds']} s), {p['clients']} "
        f"concurrent client(s) per query type, {p['seconds']:g} s each"
        + (" (all types at once)" if p["together"] else "")
    )
    rows = []
    for r in record["results"]:
        lat, cpu = r["latency_ms"], r["cpu"]
        bad = {k: v for k, v in r["statuses"].items() if k != "200"}
        found = ", ".join(dict.fromkeys(r["totals"])) if r["totals"] else ""
        rows.append(
            [r["scenario"], r["requests_per_second"], lat["p50"], lat["p95"], lat["p99"],
             lat["max"], r.get("cpu_ms_per_request"), cpu["server_cores"],
             cpu["postgres_cores"], cpu["other_cores"], found, bad or ""]
        )  # fmt: skip
    print(
        common.table(
            rows,
            ["query", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU ms/req",
             "server cores", "PG cores", "other cores", "found", "errors"],
        )
    )  # fmt: skip
    verdict = {True: "met", False: "MISSED", None: "not judged: all types ran at once"}[
        record["target_met"]
    ]
    print(
        f"worst p95: {record['worst_p95_ms']} ms (target <= {TARGET_P95_MS} ms: {verdict}); "
        f"load average before {record['machine']['loadavg_at_start']}, "
        f"after {record['loadavg_after']}"
    )
    from bench.writes import print_profile

    for r in record["results"]:
        if r.get("profile"):
            print(f"\n{r['scenario']}:")
            print_profile(r["profile"])


def config_from(args: argparse.Namespace) -> SearchConfig:
    root = os.path.abspath(args.server_root) if getattr(args, "server_root", None) else None
    if args.smoke:
        return replace(SMOKE, server_root=root)
    return SearchConfig(
        posts=args.posts,
        clients=args.clients,
        seconds=args.seconds,
        processes=args.processes,
        only=args.only,
        profile=args.profile,
        server_root=root,
    )


def main(args: argparse.Namespace) -> int:
    record = asyncio.run(run(config_from(args)))
    print_record(record)
    path = common.write_record("search-smoke" if args.smoke else "search", record)
    print(f"record: {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    _p = argparse.ArgumentParser(prog="python -m bench.search")
    add_arguments(_p)
    sys.exit(main(_p.parse_args()))
