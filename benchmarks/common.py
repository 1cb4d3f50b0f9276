"""Helpers shared by the benchmark scripts: paths, the question mix, memory, disk and percentiles."""

from __future__ import annotations

import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DEV_SET = ROOT / "tests" / "data" / "dev.jsonl"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Hand-written rewordings of dev questions, as officers might type them.
PARAPHRASES = (
    "Trường học cần đăng ký những gì vào quý một?",
    "Nhiệm vụ của Sở GD&ĐT trong phòng chống tội phạm năm 2026 là gì?",
    "Hạn báo cáo sáu tháng của Văn phòng UBND tỉnh Lai Châu?",
    "Bao nhiêu % hộ gia đình phải đăng ký khu dân cư an toàn?",
    "Công an tỉnh làm gì để triển khai kế hoạch 195?",
    "BCHQS tỉnh có trách nhiệm gì về PCTP?",
    "Ngày hội toàn dân bảo vệ ANTQ diễn ra ngày nào?",
    "Ai là người ký kế hoạch phòng chống tội phạm của tỉnh Lào Cai?",
    "Chỉ tiêu điều tra khám phá án hình sự là bao nhiêu phần trăm?",
    "Sở Y tế cần phối hợp làm gì?",
    "which agency handles traffic accident reduction",
    "Phong trào thi đua tổng kết mấy năm một lần?",
)


def log(message: str) -> None:
    """Progress goes to stderr so that stdout holds only the figures."""
    print(message, file=sys.stderr, flush=True)


def dev_questions(path: Path = DEV_SET) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def question_mix(seed: int = 7) -> list[str]:
    """The dev questions, the same without diacritics, and paraphrases, shuffled."""
    from ingest.folding import fold

    questions = dev_questions()
    unaccented = [fold(q) for q in questions if not q.isascii()]
    mix = questions + unaccented + list(PARAPHRASES)
    random.Random(seed).shuffle(mix)
    return mix


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_peak_rss_mib(pid: int, field: str = "VmHWM") -> float | None:
    """Peak RSS (VmHWM) of another live process, from /proc; ``field="VmRSS"`` for the current RSS."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def process_rss_mib(pid: int) -> float | None:
    """Current RSS (VmRSS) of another live process."""
    return process_peak_rss_mib(pid, "VmRSS")


def dir_size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / (1024 * 1024)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} CPUs)"


def openmp_settings() -> str:
    """The OpenMP variables the e5 engine reads at start (they change latency a lot on a busy machine)."""
    names = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    return " ".join(f"{name}={os.environ.get(name, '(unset)')}" for name in names)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in 0..100."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def latency_line(name: str, seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:30} n={len(ms):4d}  p50 {percentile(ms, 50):8.1f} ms  p95 {percentile(ms, 95):8.1f} ms  "
        f"mean {sum(ms) / len(ms):8.1f} ms  max {max(ms):8.1f} ms"
    )


@contextmanager
def served(data_dir: Path, timeout: float = 900.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """``benchmarks/serve.py`` (uvicorn) over ``data_dir`` on a free loopback port, until the block
    ends; yields its URL and process."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "serve.py"),
                                "--data-dir", str(data_dir), "--port", str(port)], cwd=ROOT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited with {process.returncode}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not become ready")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def synthetic_documents(folder: Path, documents: int) -> list[Path]:
    """The synthetic corpus's files in ``folder``, generated there first (``synthetic_corpus.py``) if it is empty."""
    if not folder.is_dir() or not any(folder.iterdir()):
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "synthetic_corpus.py"), "--out", str(folder),
                        "--documents", str(documents)], check=True)
    return sorted(folder.iterdir())
