"""A channel's workers: a few threads that take queued jobs and answer them.

Chats are answered concurrently, each chat strictly in order (the queue hands out a chat's
next job only when the previous one is done). A provider that is down does not lose the
reply: the job waits and is tried again, a few times, with a growing pause. A clean shutdown
hands unfinished jobs back to the queue for the next start; after a crash the next start takes
back the jobs of the dead process (or, from another machine, when their lease runs out).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid

from bot.channels.base import ChannelBot, Inbound
from bot.channels.history import StoreClosed
from bot.channels.http import UpstreamError
from bot.channels.jobs import Job, JobQueue

log = logging.getLogger(__name__)


def _alive(pid: int) -> bool:
    if os.name != "posix":  # no harmless probe elsewhere: trust the lease
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class Dispatcher:
    def __init__(self, bot: ChannelBot, queue: JobQueue, *, threads: int = 2, lease: float = 900.0,
                 idle_wait: float = 1.0, attempts: int = 5, retry_delay: float = 30.0) -> None:
        self.bot = bot
        self.queue = queue
        self.threads = threads
        self.lease = lease  # a job held longer than this by a vanished worker is taken again
        self.idle_wait = idle_wait
        self.attempts = attempts  # tries per job, when the provider keeps failing
        self.retry_delay = retry_delay  # first pause before a failed job is tried again; x4 each time
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        bot.wake = self.wake

    def start(self) -> Dispatcher:
        self._reclaim_from_dead_processes()
        for i in range(self.threads):
            worker = threading.Thread(target=self._loop, name=f"chidao-{self.bot.name}-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def _reclaim_from_dead_processes(self) -> None:
        """Jobs held by a process of this machine that no longer runs (killed mid-job) are queued
        again now rather than when their lease runs out."""
        for holder in self.queue.holders(self.bot.name):
            pid = holder.split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                log.info("%s: taking back the replies of stopped process %s", self.bot.name, pid)
                self.queue.release(holder)

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except StoreClosed:  # shutting down
                return
            except Exception:  # the store is unwell; do not spin
                log.exception("%s: the reply queue failed", self.bot.name)
                self._stop.wait(self.idle_wait)

    def _step(self) -> None:
        # held per thread: a job taken back from a hung worker is no longer that worker's
        holder = f"{self.owner}-{threading.get_ident()}"
        job = self.queue.take(self.bot.name, holder, self.lease)
        if job is None:
            with self._changed:
                self._changed.wait(self.idle_wait)
            return
        if self._stop.is_set():  # closed while taking it: hand it back
            self.queue.release(self.owner)
            return
        self.run(job, holder)
        self.wake()  # for drain(), and for the chat's next job

    def run(self, job: Job, holder: str) -> None:
        inbound = Inbound.from_json(job.payload)
        try:
            messages = job.messages
            if messages is None:
                messages = self.bot.answer(inbound)
                if not self.queue.save_messages(job, holder, messages):
                    return
            for index in range(job.sent, len(messages)):
                if self._stop.is_set():
                    return  # handed back by close(); the next start sends the rest
                self.bot.send_one(inbound, index, messages[index])
                if not self.queue.mark_sent(job, holder, index + 1):
                    return
            self.queue.finish(job, holder)
            if messages:
                self.bot.health.ok()
        except StoreClosed:
            raise
        except UpstreamError as exc:
            self._failed(job, holder, inbound, exc)
        except Exception:
            if self._stop.is_set():
                return  # closed under our feet (a client shut down mid-call): the job was handed back
            log.exception("%s: the reply to chat %s failed; dropped", self.bot.name, inbound.chat_id)
            self.queue.finish(job, holder)  # a bug: drop the job rather than retry it forever

    def _failed(self, job: Job, holder: str, inbound: Inbound, exc: UpstreamError) -> None:
        self.bot.health.error(str(exc), exc.code if exc.code is not None else exc.status)
        if self._stop.is_set():
            return
        if exc.transient and job.attempts + 1 < self.attempts:
            delay = self.retry_delay * 4**job.attempts
            log.warning("%s: the reply to chat %s failed (%s); trying again in %.0fs", self.bot.name,
                        inbound.chat_id, exc, delay)
            self.queue.retry_later(job, holder, delay)
            return
        log.error("%s: could not deliver the reply to chat %s (%s); given up", self.bot.name, inbound.chat_id, exc)
        self.queue.finish(job, holder)

    def drain(self, timeout: float) -> bool:
        """Wait until the channel's queue is empty; False if it is not after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.queue.pending(self.bot.name):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._changed:
                self._changed.wait(min(left, self.idle_wait))
        return True

    def close(self) -> None:
        """Stop taking jobs and hand back the ones in progress; a worker blocked in a call is not waited for."""
        self._stop.set()
        self.wake()
        try:
            released = self.queue.release(self.owner)
        except StoreClosed:
            return
        if released:
            log.info("%s: %d unfinished replies left queued for the next start", self.bot.name, released)
