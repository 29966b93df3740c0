"""The HTTP side of files: the upload URL, `url_private` (bot token), and the page's view."""

from __future__ import annotations

import time

from aiohttp import BodyPartReader, web

from sandbox.slack.files import mimetype
from sandbox.slack.model import SlackFile
from sandbox.slack.server import SANDBOX, SlackSandbox


async def _uploaded_bytes(request: web.Request) -> bytes:
    """A raw body as it stands; of a multipart body, the first part (`-F file=@chart.png`)."""
    if request.content_type != "multipart/form-data":
        return await request.read()
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader):
            return bytes(await part.read())
    return b""


async def _upload(request: web.Request) -> web.Response:
    """POST to an `upload_url`: 200 `OK - <length>`, or 400 saying what is wrong."""
    sandbox = request.app[SANDBOX]
    content = await _uploaded_bytes(request)
    try:
        file = sandbox.api.receive_upload(request.match_info["key"], content)
    except ValueError as refused:
        sandbox.calls.append({"method": "upload_url", "args": {"size": len(content)}, "ok": False,
                              "error": str(refused), "status": 400, "at": time.time()})  # fmt: skip
        return web.Response(status=400, text=str(refused))
    took = {"file_id": file.id, "size": len(content)}
    sandbox.calls.append({"method": "upload_url", "args": took, "ok": True, "error": None,
                          "status": 200, "at": time.time()})  # fmt: skip
    return web.Response(text=f"OK - {len(content)}")


def _shared_file(sandbox: SlackSandbox, file_id: str) -> SlackFile:
    file = sandbox.workspace.files.get(file_id)
    if file is None or file.content is None or file.shared_in is None:
        raise web.HTTPNotFound(text="file_not_found")
    return file


def _file_response(file: SlackFile) -> web.Response:
    assert file.content is not None
    return web.Response(body=file.content, content_type=mimetype(file.name),
                        headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip


async def _url_private(request: web.Request) -> web.Response:
    """A shared file's bytes, for a request carrying the bot token (as Slack's `url_private`)."""
    sandbox = request.app[SANDBOX]
    if request.headers.get("Authorization", "") != f"Bearer {sandbox.workspace.bot_token}":
        raise web.HTTPUnauthorized(text="not_authed")
    return _file_response(_shared_file(sandbox, request.match_info["file_id"]))


async def _page_file(request: web.Request) -> web.Response:
    """A shared file as the page shows it (the person looking is signed in to the workspace)."""
    return _file_response(_shared_file(request.app[SANDBOX], request.match_info["file_id"]))


def add_file_routes(app: web.Application) -> None:
    """Mount the upload URL, `url_private` and the page's file view."""
    app.router.add_post("/_sandbox/upload/{key}", _upload)
    app.router.add_get("/_sandbox/files/{file_id}/{name}", _url_private)
    app.router.add_get("/_sandbox/file/{file_id}", _page_file)
