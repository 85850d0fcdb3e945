"""The emulator's HTTP server: ``aiohttp.web`` on an event loop in a background thread.

HTTP/1.1 itself (chunked bodies, keep-alive, pipelining, ``Expect: 100-continue``, a clear 400 for a
malformed request) is aiohttp's job; TCP_NODELAY is set on every connection, so keep-alive answers are not
held back by Nagle's algorithm. Each request is answered by the handler it serves on a worker thread, because
faults block (``slow`` sleeps, ``hold`` waits for the test). ``stop`` cuts every open connection, idle or
mid-request, as a process that goes away does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from airflow_provider_dataworks.emulator.api.messages import Answer, Request

#: Calls answered at once; held and slow calls each keep one worker (threads start only when needed).
MAX_CONCURRENT_CALLS = 128
MAX_BODY_BYTES = 8 * 1024 * 1024


class EmulatorHTTPServer:
    """Serves ``handle`` on ``host:port`` (0: a free port) until :meth:`stop`; :meth:`start` again to restart."""

    def __init__(self, host: str, port: int, handle: Callable[[Request], Answer]) -> None:
        self._host = host
        self.port = port
        self._handle = handle
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> int:
        """Listen (the same port as before on a restart) and serve from a daemon thread; returns the port."""
        if self._thread is not None:
            return self.port
        self._executor = ThreadPoolExecutor(MAX_CONCURRENT_CALLS, thread_name_prefix="dataworks-emulator-call")
        loop = asyncio.new_event_loop()
        listening: concurrent.futures.Future[web.AppRunner] = concurrent.futures.Future()
        thread = threading.Thread(target=self._serve, args=(loop, listening), daemon=True, name="dataworks-emulator")
        thread.start()
        try:
            self._runner = listening.result(timeout=30)  # raises what binding raised (e.g. port in use)
        except BaseException:
            thread.join(timeout=10)
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._loop, self._thread = loop, thread
        return self.port

    def _serve(self, loop: asyncio.AbstractEventLoop, listening: concurrent.futures.Future[web.AppRunner]) -> None:
        asyncio.set_event_loop(loop)
        try:
            listening.set_result(loop.run_until_complete(self._listen()))
        except BaseException as err:
            listening.set_exception(err)
            loop.close()
            return
        loop.run_forever()
        loop.close()

    async def _listen(self) -> web.AppRunner:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{path:.*}", self._on_request)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self.port, reuse_address=True)
        await site.start()
        self.port = int(runner.addresses[0][1])
        return runner

    async def _on_request(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        call = Request(request.method, request.raw_path, headers, body)
        assert self._executor is not None
        answer = await asyncio.get_running_loop().run_in_executor(self._executor, self._handle, call)
        if answer.drop:
            request.protocol.force_close()  # no answer: the connection closes under the client
            return web.Response()  # never sent
        return web.Response(
            status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type, **answer.headers}
        )

    async def _close(self) -> None:
        assert self._runner is not None
        server = self._runner.server
        for connection in server.connections if server is not None else []:
            if connection.transport is not None:
                connection.transport.abort()
        await self._runner.cleanup()
        # Calls still on a worker (held, slow) stay unanswered: their handlers end here.
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def stop(self) -> None:
        """Stop listening and cut every open connection; calls still running on workers finish unanswered."""
        if self._loop is None or self._thread is None:
            return
        loop, thread = self._loop, self._thread
        with contextlib.suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        assert self._executor is not None
        self._executor.shutdown(wait=False)
        self._loop = self._thread = self._runner = self._executor = None
