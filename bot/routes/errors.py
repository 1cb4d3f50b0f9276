"""Bad requests get a 4xx whose ``detail`` says, in Vietnamese, what is wrong."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

_MESSAGES = {
    "missing": "thiếu trường bắt buộc",
    "string_too_short": "không được để trống",
    "string_too_long": "quá dài",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "string_type": "phải là chuỗi ký tự",
    "list_type": "phải là danh sách",
    "literal_error": "giá trị không hợp lệ",
    "too_long": "quá nhiều phần tử",
    "json_invalid": "JSON không hợp lệ",
    "model_attributes_type": "phải là một đối tượng JSON",
    "dict_type": "phải là một đối tượng JSON",
}


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "nội dung yêu cầu"
    kind = error.get("type", "")
    if kind == "value_error":
        reason = str(error.get("ctx", {}).get("error", error.get("msg", "")))
    else:
        reason = _MESSAGES.get(kind, error.get("msg", "không hợp lệ"))
    return f"'{where}': {reason}"


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail = "Yêu cầu không hợp lệ: " + "; ".join(_describe(e) for e in errors)
    return JSONResponse(
        status_code=422,
        content={"detail": detail, "errors": [{"loc": e.get("loc"), "type": e.get("type")} for e in errors]},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
