"""`/batches/{batch_id}/download?format=original|png|jpeg|webp`: a batch's results as one ZIP, streamed.

For the batch's owner only (session cookie); anyone else, and a batch that does not exist, gets the
same 404. The archive is written while it is sent (services.batch_zip), never held whole.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from db.session import session_scope
from pixora_ui.services import batch_zip, batches
from pixora_ui.web.api import session_user

_NO_STORE = {"Cache-Control": "no-store"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=_NO_STORE)


async def batch_download(request: Request, batch_id: str) -> Response:
    found = await session_user(request)
    if found is None:
        return _error(401, "unauthorized", "Sign in first")
    fmt = batch_zip.parse_format(request.query_params.get("format"))
    if fmt is None:
        return _error(400, "bad_format", "format must be original, png, jpeg or webp")
    try:
        async with session_scope() as session:
            view = await batches.get_batch(session, user_id=found[0], batch_id=batch_id)
            entries = await batch_zip.download_entries(session, user_id=found[0], batch_id=batch_id, fmt=fmt)
    except batches.BatchNotFound:
        return _error(404, "not_found", "That batch was not found.")
    except batches.NothingToDownload as exc:
        return _error(409, "nothing_to_download", str(exc))
    headers = {**_NO_STORE, "Content-Disposition": f'attachment; filename="{batch_zip.archive_name(view)}"'}
    return StreamingResponse(batch_zip.stream_zip(entries, fmt), media_type="application/zip", headers=headers)


def register(app: FastAPI) -> None:
    app.add_api_route("/batches/{batch_id}/download", batch_download, methods=["GET"], include_in_schema=False)
