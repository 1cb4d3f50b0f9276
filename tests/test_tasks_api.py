"""Responsibilities and deadlines by agency, over real HTTP and the CLI, from the ingested samples."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_agencies_list_and_one_agency(live_server):
    listed = httpx.get(live_server.url + "/api/agencies").json()
    by_id = {a["id"]: a for a in listed}
    assert {"so-y-te", "so-gddt", "cong-an-tinh", "co-so-giao-duc", "ubnd-xa"} <= set(by_id)
    assert by_id["so-gddt"]["name"] == "Sở Giáo dục và Đào tạo" and "Sở GD&ĐT" in by_id["so-gddt"]["aliases"]
    assert by_id["so-y-te"]["task_count"] >= 4

    body = httpx.get(live_server.url + "/api/agencies/so-y-te").json()
    lead = [t for t in body["tasks"] if t["role"] == "chủ trì"]
    assert lead and lead[0]["citation"]["section"] == "III › 7. Sở Y tế"
    assert "nạn nhân bị mua bán" in lead[0]["citation"]["quote"]
    # an alias works as the id
    alias = httpx.get(live_server.url + "/api/agencies/Sở GD&ĐT").json()
    assert alias["id"] == "so-gddt"
    assert httpx.get(live_server.url + "/api/agencies/kho-bac").status_code == 404


def test_deadlines_filter_by_agency_and_dates(live_server):
    url = live_server.url + "/api/deadlines"
    items = httpx.get(url, params={"agency": "Sở GD&ĐT"}).json()
    assert [(i["date"], i["deadline"]["text"]) for i in items] == [("2026-11-30", "hoàn thành trong tháng 11/2026")]
    assert items[0]["citation"]["section"] == "III › 8. Sở Giáo dục và Đào tạo"

    window = httpx.get(url, params={"from": "2027-01-01", "to": "2027-12-31"}).json()
    yearly = {(i["date"], i["agency_id"]) for i in window if i["deadline"]["recurrence"] == "yearly"}
    assert ("2027-06-10", "thanh-vien-bcd") in yearly and ("2027-11-15", "co-quan-don-vi") in yearly
    assert all("2027-01-01" <= i["date"] <= "2027-12-31" for i in window)

    assert httpx.get(url, params={"from": "30/5/2026"}).status_code == 422
    assert httpx.get(url, params={"from": "2026-12-01", "to": "2026-01-01"}).status_code == 422
    assert httpx.get(url, params={"agency": "Kho bạc Nhà nước"}).status_code == 404


def test_csv_export_opens_with_vietnamese_intact(live_server):
    params = {"format": "csv", "from": "2026-01-01", "to": "2026-12-31"}
    r = httpx.get(live_server.url + "/api/deadlines", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows and {"ngay_han", "co_quan", "thoi_han_nguyen_van", "trich_dan"} <= set(rows[0])
    gddt = [row for row in rows if row["co_quan"] == "Sở Giáo dục và Đào tạo"]
    assert gddt[0]["thoi_han_nguyen_van"] == "hoàn thành trong tháng 11/2026"
    assert any(row["co_quan"] == "Phòng Hành chính – Quản trị" and row["ngay_han"] == "2026-05-30" for row in rows)


def test_ics_export_imports_cleanly_with_recurrences(live_server):
    from icalendar import Calendar

    r = httpx.get(live_server.url + "/api/deadlines", params={"format": "ics", "from": "2026-01-01",
                                                               "to": "2027-12-31"})
    assert r.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(r.content)
    events = list(calendar.walk("VEVENT"))
    assert events and all(e.get("uid") and e.get("dtstamp") and e.get("dtstart") for e in events)
    yearly = [e for e in events if e.get("rrule")]
    assert yearly and all(e["rrule"]["FREQ"] == ["YEARLY"] for e in yearly)
    starts = {(str(e["summary"]).split(":")[0], e.decoded("dtstart")) for e in events}
    assert ("Sở Giáo dục và Đào tạo", date(2026, 11, 30)) in starts
    assert ("Các ngành thành viên Ban Chỉ đạo tỉnh", date(2026, 6, 10)) in starts
    assert len({str(e["uid"]) for e in events}) == len(events)


@pytest.mark.parametrize(
    ("question", "section", "needle"),
    [
        ("Sở Y tế phải làm gì?", "III › 7. Sở Y tế", "nạn nhân bị mua bán"),
        ("Sở GD&ĐT có hạn gì trong tháng 11?", "III › 8. Sở Giáo dục và Đào tạo", "tháng 11/2026"),
        ("What is the Department of Education assigned?", "III › 8. Sở Giáo dục và Đào tạo", "Sở Giáo dục"),
    ],
)
def test_chat_answers_from_the_task_list(live_server, question, section, needle):
    body = httpx.post(live_server.url + "/api/chat", json={"message": question}, timeout=60).json()
    assert body["answered"] and body.get("mode") == "tasks", body
    assert needle in body["answer"]
    assert body["citations"][0]["section"] == section
    for c in body["citations"]:
        assert f"[{c['n']}]" in body["answer"]


def test_chat_falls_back_when_the_tasks_do_not_answer(seeded_service):
    answer = seeded_service.chat("Văn phòng UBND tỉnh Lai Châu phải báo cáo 6 tháng trước ngày nào?")
    assert answer.mode != "tasks" and "30/5/2026" in answer.answer


def test_cli_agencies_and_deadlines(seeded_dir):
    def chidao(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args, "--data-dir", str(seeded_dir)],
                              capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                              timeout=300)

    listed = chidao("agencies")
    assert listed.returncode == 0 and "so-gddt" in listed.stdout and "Sở Giáo dục và Đào tạo" in listed.stdout
    table = chidao("deadlines", "--agency", "Sở GD&ĐT")
    assert "2026-11-30" in table.stdout and "hoàn thành trong tháng 11/2026" in table.stdout
    as_csv = chidao("deadlines", "--format", "csv", "--from", "2026-05-01", "--to", "2026-05-31")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout.lstrip("\ufeff"))))
    assert [(r["ngay_han"], r["co_quan"]) for r in rows] == [("2026-05-30", "Phòng Hành chính – Quản trị")]
    ics = chidao("deadlines", "--format", "ics", "--agency", "thanh-vien-bcd")
    assert "BEGIN:VCALENDAR" in ics.stdout and "RRULE:FREQ=YEARLY" in ics.stdout
    bad = chidao("deadlines", "--from", "hôm qua")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    unknown = chidao("deadlines", "--agency", "Kho bạc")
    assert unknown.returncode == 1 and "Kho bạc" in unknown.stderr
