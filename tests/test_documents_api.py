"""Uploading and deleting documents over real HTTP: keys, limits, bad files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": "Bearer quan-tri-123"}
PLAN = """Số: 21/KH-UBND
Bắc Hà, ngày 02 tháng 4 năm 2026
KẾ HOẠCH
Bảo đảm an ninh trật tự phiên chợ vùng cao

I. NHIỆM VỤ
1. Công an xã Bản Phố
- Bố trí lực lượng tuần tra phiên chợ Chủ nhật, xử lý hành vi gây rối.
2. Ban quản lý chợ
- Lắp đặt bình chữa cháy tại khu hàng khô trước ngày 20/5/2026.
""".encode()


def make_server(tmp_path: Path, e5, **overrides):
    from bot.api import create_app
    from bot.settings import Settings
    from bot.wiring import build_service, build_store

    settings = Settings(data_dir=tmp_path / "data", admin_key="quan-tri-123", **overrides)
    service = build_service(settings, build_store(settings, e5))
    return LiveServer(create_app(service, settings))


def files(*items: tuple[str, bytes]):
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


def test_upload_search_and_delete(tmp_path, e5):
    with make_server(tmp_path, e5) as server:
        r = httpx.post(server.url + "/api/documents", files=files(("ke-hoach-cho.txt", PLAN)), headers=ADMIN,
                       timeout=120)
        assert r.status_code == 200, r.text
        result = r.json()["results"][0]
        assert (result["status"], result["document_id"]) == ("added", "ke-hoach-cho") and result["chunks"] >= 2
        docs = httpx.get(server.url + "/api/documents").json()
        assert [(d["id"], d["doc_number"], d["place"]) for d in docs] == [("ke-hoach-cho", "21/KH-UBND", "Bắc Hà")]
        hits = httpx.post(server.url + "/api/search", json={"query": "bình chữa cháy khu hàng khô"}).json()["results"]
        assert hits[0]["section"] == "I › 2. Ban quản lý chợ"
        again = httpx.post(server.url + "/api/documents", files=files(("ke-hoach-cho.txt", PLAN)), headers=ADMIN)
        assert again.json()["results"][0]["status"] == "unchanged"

        assert httpx.delete(server.url + "/api/documents/ke-hoach-cho").status_code == 401
        r = httpx.delete(server.url + "/api/documents/ke-hoach-cho", headers={"X-API-Key": "quan-tri-123"})
        assert r.status_code == 200 and r.json() == {"deleted": "ke-hoach-cho"}
        assert httpx.get(server.url + "/api/documents/ke-hoach-cho").status_code == 404
        assert httpx.post(server.url + "/api/search", json={"query": "bình chữa cháy"}).json()["results"] == []
        assert httpx.delete(server.url + "/api/documents/ke-hoach-cho", headers=ADMIN).status_code == 404


def test_keys_limits_and_bad_files(tmp_path, e5):
    with make_server(tmp_path, e5, upload_limit_mb=0.002) as server:
        url = server.url + "/api/documents"
        r = httpx.post(url, files=files(("a.txt", PLAN)))
        assert r.status_code == 401 and "khóa quản trị" in r.json()["detail"]
        r = httpx.post(url, files=files(("a.txt", PLAN)), headers={"Authorization": "Bearer sai"})
        assert r.status_code == 403 and "không đúng" in r.json()["detail"]

        big = PLAN + "\n- Nội dung bổ sung.".encode() * 200
        r = httpx.post(url, files=files(("lon.txt", big)), headers=ADMIN)
        assert r.status_code == 413 and "giới hạn" in r.json()["detail"]

        r = httpx.post(url, files=files(("rong.txt", b"")), headers=ADMIN)
        assert r.status_code == 422 and "rỗng" in r.json()["detail"]

        r = httpx.post(url, files=files(("../../etc/ke-hoach.txt", PLAN), ("trong.txt", b"")), headers=ADMIN,
                       timeout=120)
        assert r.status_code == 200
        by_name = {x["source"]: x for x in r.json()["results"]}
        assert by_name["ke-hoach.txt"]["status"] == "added"  # the path was dropped, only the name is kept
        assert by_name["trong.txt"]["status"] == "failed" and "rỗng" in by_name["trong.txt"]["reason"]
        assert not list(tmp_path.rglob("ke-hoach.txt"))  # an uploaded name never becomes a file path

        r = httpx.post(url, data={"note": "x"}, headers=ADMIN)
        assert r.status_code == 422 and "Không có tệp" in r.json()["detail"]


def test_no_admin_key_configured_means_no_uploads(tmp_path, e5):
    from bot.api import create_app
    from bot.settings import Settings
    from bot.wiring import build_service, build_store

    settings = Settings(data_dir=tmp_path / "data")
    with LiveServer(create_app(build_service(settings, build_store(settings, e5)), settings)) as server:
        r = httpx.post(server.url + "/api/documents", files=files(("a.txt", PLAN)), headers=ADMIN)
        assert r.status_code == 403 and "CHIDAO_ADMIN_KEY" in r.json()["detail"]


def test_read_key_guards_reading(tmp_path, e5):
    with make_server(tmp_path, e5, read_key="doc-456") as server:
        assert httpx.get(server.url + "/healthz").status_code == 200
        assert httpx.get(server.url + "/api/documents").status_code == 401
        assert httpx.get(server.url + "/api/documents", headers={"X-API-Key": "sai"}).status_code == 403
        assert httpx.get(server.url + "/api/documents", headers={"X-API-Key": "doc-456"}).status_code == 200
        assert httpx.get(server.url + "/api/documents", headers=ADMIN).status_code == 200
        r = httpx.post(server.url + "/api/chat", json={"message": "chợ"})
        assert r.status_code == 401
