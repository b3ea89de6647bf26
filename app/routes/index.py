"""/v1/index: the served snapshot, rebuild jobs."""

from __future__ import annotations

from fastapi import APIRouter

from app import service
from app.deps import Reader, State, Writer
from app.errors import ApiError
from app.jobs import JobRecord
from app.routes import ERROR_RESPONSES
from app.schemas import IndexInfo, Job, JobAccepted, JobProgress

router = APIRouter(prefix="/v1/index", tags=["index"], responses=ERROR_RESPONSES)


def _job(record: JobRecord) -> Job:
    return Job(
        job_id=record.job_id,
        state=record.state,
        progress=JobProgress(done=record.done, total=record.total),
        error=record.error,
        index_version=record.index_version,
        created_at=record.created_at,
        finished_at=record.finished_at,
    )


@router.get("", response_model=IndexInfo, dependencies=[Reader], summary="The served index's manifest")
async def index_info(state: State) -> IndexInfo:
    index = state.require_searcher().index
    return IndexInfo(
        version=index.version, entries=index.count, manifest=service.public_manifest(index.manifest)
    )


@router.post(
    "/rebuild",
    status_code=202,
    response_model=JobAccepted,
    dependencies=[Writer],
    summary="Rebuild the index",
)
async def rebuild(state: State) -> JobAccepted:
    job = await service.start_rebuild(state)
    return JobAccepted(job_id=job.job_id)


@router.get("/jobs/{job_id}", response_model=Job, dependencies=[Reader], summary="A rebuild job's state")
async def job_status(job_id: str, state: State) -> Job:
    record = state.jobs.get(job_id)
    if record is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}; start one with POST /v1/index/rebuild")
    return _job(record)
