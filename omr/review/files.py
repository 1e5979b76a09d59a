"""Images and fonts of the review screen: by sheet id and position, only what the database names."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request, send_file

from omr.ballot.fonts import FONT_FILES, font_dir
from omr.review.context import review
from omr.review.images import ImageUnavailable
from omr.review.model import SheetItem, build_sheet

files = Blueprint("files", __name__)


def _png(data: bytes) -> Response:
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _sheet_for_image(sheet_id: int) -> SheetItem:
    ctx = review()
    return build_sheet(sheet_id, ctx.read(sheet_id), ctx.shelf(), {})


@files.get("/sheet/<int:sheet_id>/image.png")
def sheet_image(sheet_id: int) -> Response:
    item = _sheet_for_image(sheet_id)
    page = item.info.page(item.read.template_page) if item.info else None
    if page is None:
        abort(404, description="This sheet has no aligned image (never registered, or its template is unknown).")
    try:
        return _png(review().reads.images.registered(sheet_id, item.read, page))
    except ImageUnavailable as exc:
        abort(404 if exc.kind == "unaligned" else 409, description=str(exc))


@files.get("/sheet/<int:sheet_id>/zoom/<int:index>.png")
def zoom_image(sheet_id: int, index: int) -> Response:
    item = _sheet_for_image(sheet_id)
    page = item.info.page(item.read.template_page) if item.info else None
    if page is None or not 0 <= index < len(item.areas):
        abort(404, description=f"Sheet {sheet_id} has no zoom {index}.")
    try:
        return _png(review().reads.images.zoom(sheet_id, item.read, page, item.areas[index].rect, index))
    except ImageUnavailable as exc:
        abort(409, description=str(exc))


@files.get("/sheet/<int:sheet_id>/original.png")
def original_image(sheet_id: int) -> Response:
    item = _sheet_for_image(sheet_id)
    try:
        return _png(review().reads.images.original(sheet_id, item.read, request.args.get("upright") == "1"))
    except ImageUnavailable as exc:
        abort(409, description=str(exc))


@files.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204)


@files.get("/font/<name>")
def font(name: str) -> Response:
    if name not in FONT_FILES.values():
        abort(404, description="No such font.")
    return send_file(font_dir() / name, mimetype="font/ttf", max_age=86400)
