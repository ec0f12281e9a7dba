"""WorkerRunner with real worker processes: isolation, environment, timeouts,
crashes, errors, logs, large results, concurrency."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from framer.functions import (Crashed, EnvVarsFile, Function, Raised, Returned, RunnerOptions,
                              Throttled, TimedOut, WorkerRunner)

from .conftest import WriteCode

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="worker processes need Unix sockets")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: reaped workers leave none.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


ENV_HANDLER = """
    import os, sys
    NAMES = ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
             "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
             "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV",
             "LAMBDA_TASK_ROOT", "_HANDLER", "TZ", "TABLE", "STAGE", "AWS_ACCESS_KEY_ID"]
    def handler(event, context):
        return {
            "env": {name: os.environ.get(name) for name in NAMES},
            "path0": sys.path[0], "cwd": os.getcwd(),
            "context": {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
            },
        }
"""


def test_lambda_environment_and_context(make_function: WriteCode, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws: placeholder credentials
    for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    fn = make_function("envfn", ENV_HANDLER, memory_mb=256, timeout_s=7,
                       environment={"TABLE": "template-table", "STAGE": "prod"})
    env_file = tmp_path / "env.json"
    env_file.write_text('{"Parameters": {"TABLE": "global", "UNDECLARED": "x"},'
                        ' "envfn": {"STAGE": "local"}}')

    async def main() -> Any:
        async with WorkerRunner(RunnerOptions(region="eu-west-3"),
                                env_vars=EnvVarsFile.load(env_file)) as runner:
            return await runner.invoke(fn, {}, request_id="req-1")

    outcome = asyncio.run(main())
    assert isinstance(outcome, Returned)
    seen = outcome.value
    env = seen["env"]
    root = str(fn.code_dir.resolve())
    py = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-3"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envfn"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/envfn"
    assert "/[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{py}"
    assert env["LAMBDA_TASK_ROOT"] == root == seen["path0"] == seen["cwd"]
    assert env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC"
    # SAM's rules: Parameters for every function, the function's own object wins,
    # variables the function does not declare are not added.
    assert (env["TABLE"], env["STAGE"]) == ("global", "local")
    assert "UNDECLARED" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAFRAMERLOCAL00000"
    ctx = seen["context"]
    assert ctx["function_name"] == "envfn"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:eu-west-3:123456789012:function:envfn"
    assert ctx["memory_limit_in_mb"] == 256
    assert ctx["aws_request_id"] == "req-1"
    assert ctx["log_group_name"] == "/aws/lambda/envfn"
    assert ctx["log_stream_name"] == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert 0 < ctx["remaining"] <= 7000


def test_configured_credentials_are_kept(make_function: WriteCode,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSERSOWNKEY00000")
    fn = make_function("creds", ENV_HANDLER)

    async def main() -> Any:
        async with WorkerRunner() as runner:
            return await runner.invoke(fn, {}, request_id="r")

    outcome = asyncio.run(main())
    assert isinstance(outcome, Returned)
    assert outcome.value["env"]["AWS_ACCESS_KEY_ID"] == "AKIAUSERSOWNKEY00000"


STATE_HANDLER = """
    import helper, os
    CALLS = []
    def handler(event, context):
        CALLS.append(event["n"])
        os.environ["TOUCHED_BY"] = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        return {"who": helper.WHO, "calls": CALLS, "pid": os.getpid(),
                "touched": os.environ.get("TOUCHED_BY")}
"""


def test_same_module_names_and_state_are_per_function(make_function: WriteCode) -> None:
    one = make_function("one", STATE_HANDLER)
    two = make_function("two", STATE_HANDLER)
    (one.code_dir / "helper.py").write_text("WHO = 'one'\n")
    (two.code_dir / "helper.py").write_text("WHO = 'two'\n")

    async def main() -> list[Any]:
        async with WorkerRunner() as runner:
            return [await runner.invoke(fn, {"n": n}, request_id=f"r{n}")
                    for n, fn in enumerate([one, two, one, two])]

    results = [outcome.value for outcome in asyncio.run(main())]
    assert [r["who"] for r in results] == ["one", "two", "one", "two"]
    assert results[2]["calls"] == [0, 2]  # warm: the module kept its state
    assert results[3]["calls"] == [1, 3]
    assert results[0]["pid"] == results[2]["pid"] != results[1]["pid"]
    assert results[3]["touched"] == "two"


def test_timeout_kills_and_replaces_the_worker(make_function: WriteCode,
                                               caplog: pytest.LogCaptureFixture) -> None:
    fn = make_function("slow", """
        import os, time
        def handler(event, context):
            if event.get("sleep"):
                time.sleep(60)
            return os.getpid()
    """, timeout_s=1)
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def main() -> tuple[Any, ...]:
        async with WorkerRunner() as runner:
            first = await runner.invoke(fn, {}, request_id="a")
            timed_out = await runner.invoke(fn, {"sleep": True}, request_id="b")
            after = await runner.invoke(fn, {}, request_id="c")
            return first, timed_out, after, runner.workers("slow")

    first, timed_out, after, live = asyncio.run(main())
    assert timed_out == TimedOut(1.0)
    assert timed_out.message == "Task timed out after 1.00 seconds"
    assert isinstance(after, Returned) and after.value != first.value
    assert live == [after.value]
    assert not _alive(first.value)
    assert not _alive(after.value)  # aclose() killed and reaped it
    lines = [r.getMessage() for r in caplog.records if r.name == "framer.functions.slow"]
    assert any(line.endswith("b Task timed out after 1.00 seconds") for line in lines)


def test_sleepers_past_their_timeout_do_not_hold_up_another_function(
        make_function: WriteCode) -> None:
    sleepy = make_function("sleepy", """
        import time
        def handler(event, context):
            time.sleep(60)
    """, timeout_s=5)
    prompt = make_function("prompt", "def handler(event, context):\n    return event['n']\n")

    async def main() -> None:
        async with WorkerRunner() as runner:
            assert await runner.invoke(prompt, {"n": 0}, request_id="warm") == Returned(0)
            sleepers = [asyncio.create_task(runner.invoke(sleepy, {}, request_id=f"s{i}"))
                        for i in range(8)]
            while len(runner.workers("sleepy")) < 8:  # all eight are running their handler
                await asyncio.sleep(0.05)
            answers = [await runner.invoke(prompt, {"n": n}, request_id=f"p{n}") for n in (1, 2)]
            assert answers == [Returned(1), Returned(2)]
            assert not any(task.done() for task in sleepers)
            pids = runner.workers("sleepy")
            assert await asyncio.gather(*sleepers) == [TimedOut(5.0)] * 8
            assert runner.workers("sleepy") == []
            assert not any(_alive(pid) for pid in pids)

    asyncio.run(main())


@pytest.mark.parametrize("body, reason", [
    ("import ctypes; ctypes.string_at(0)", "signal: segmentation fault"),
    ("os._exit(1)", "exit status 1"),
])
def test_crash_fails_only_its_invocation(make_function: WriteCode, body: str, reason: str,
                                         caplog: pytest.LogCaptureFixture) -> None:
    crashing = make_function("crashing", f"""
        import os
        def handler(event, context):
            if event.get("crash"):
                {body}
            return os.getpid()
    """)
    other = make_function("other", "import os\ndef handler(event, context):\n    return os.getpid()\n")
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def main() -> tuple[Any, ...]:
        async with WorkerRunner() as runner:
            other_pid = await runner.invoke(other, {}, request_id="o1")
            before = await runner.invoke(crashing, {}, request_id="c1")
            crashed = await runner.invoke(crashing, {"crash": True}, request_id="c2")
            again = await runner.invoke(crashing, {}, request_id="c3")
            other_again = await runner.invoke(other, {}, request_id="o2")
            return other_pid, before, crashed, again, other_again

    other_pid, before, crashed, again, other_again = asyncio.run(main())
    assert crashed == Crashed(reason)
    assert crashed.message == f"Runtime exited with error: {reason}"
    assert isinstance(again, Returned) and again.value != before.value
    assert other_again == other_pid  # the other function's worker lived on
    messages = [r.getMessage() for r in caplog.records if r.name == "framer.functions.crashing"]
    assert f"RequestId: c2 Error: Runtime exited with error: {reason}\nRuntime.ExitError" in messages


def test_exception_is_logged_with_its_traceback_between_start_and_end(
        make_function: WriteCode, caplog: pytest.LogCaptureFixture) -> None:
    fn = make_function("raiser", """
        import logging, sys
        logging.getLogger().setLevel(logging.INFO)
        def helper(value):
            raise KeyError(value)
        def handler(event, context):
            print("to stdout")
            print("to stderr", file=sys.stderr)
            logging.getLogger("app").info("through logging")
            helper("missing-key")
    """)
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def main() -> Any:
        async with WorkerRunner() as runner:
            return await runner.invoke(fn, {}, request_id="req-9")

    outcome = asyncio.run(main())
    assert isinstance(outcome, Raised)
    assert (outcome.error_type, outcome.error_message) == ("KeyError", "'missing-key'")
    assert [line.split(",")[2].strip() for line in outcome.stack_trace] == \
        ["in handler\n    helper(\"missing-key\")", "in helper\n    raise KeyError(value)"]
    assert outcome.payload("req-9")["errorType"] == "KeyError"
    lines = [r.getMessage() for r in caplog.records if r.name == "framer.functions.raiser"]
    assert lines[0] == "START RequestId: req-9 Version: $LATEST"
    assert lines[1:3] == ["to stdout", "to stderr"]
    assert lines[3].startswith("[INFO]\t") and lines[3].endswith("\treq-9\tthrough logging")
    assert lines[4].startswith("[ERROR] KeyError: 'missing-key'\nTraceback (most recent call last):\n")
    assert 'raise KeyError(value)' in lines[4]
    assert lines[5] == "END RequestId: req-9"
    report = lines[6].split("\t")
    assert report[0] == "REPORT RequestId: req-9"
    assert report[1].startswith("Duration: ") and report[1].endswith(" ms")
    assert report[2].startswith("Billed Duration: ")
    assert report[3] == "Memory Size: 128 MB"
    assert report[4].startswith("Max Memory Used: ") and int(report[4].split()[3]) > 0
    assert report[5].startswith("Init Duration: ")  # a cold start
    assert len(lines) == 7


def test_import_error_and_unserializable_result(make_function: WriteCode) -> None:
    broken = make_function("broken", "import no_such_module_here\n")
    sets = make_function("sets", "def handler(event, context):\n    return {1, 2}\n")

    async def main() -> tuple[Any, ...]:
        async with WorkerRunner() as runner:
            return (await runner.invoke(broken, {}, request_id="a"),
                    await runner.invoke(broken, {}, request_id="b"),
                    await runner.invoke(sets, {}, request_id="c"),
                    await runner.invoke(sets, {}, request_id="d"))

    first, second, marshal, again = asyncio.run(main())
    assert isinstance(first, Raised) and first.error_type == "Runtime.ImportModuleError"
    assert "no_such_module_here" in first.error_message and second == first
    assert isinstance(marshal, Raised) and marshal.error_type == "Runtime.MarshalError"
    assert "not JSON serializable" in marshal.error_message and again == marshal


def test_large_result_and_event_cross_ipc(make_function: WriteCode) -> None:
    fn = make_function("big", "def handler(event, context):\n    return {'body': event['body'] * 2}\n")
    body = "é" + "x" * (100 * 1024)

    async def main() -> Any:
        async with WorkerRunner() as runner:
            return await runner.invoke(fn, {"body": body}, request_id="r")

    outcome = asyncio.run(main())
    assert outcome == Returned({"body": body * 2})
    assert len(outcome.value["body"].encode()) > 200 * 1024


def test_concurrency_limit_waits_and_zero_throttles(make_function: WriteCode, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    fn = make_function("limited", f"""
        import os, time
        def handler(event, context):
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.01)
            return os.getpid()
    """, reserved_concurrency=2, timeout_s=30)
    off = make_function("off", "def handler(event, context):\n    return 1\n", reserved_concurrency=0)

    async def main() -> None:
        async with WorkerRunner() as runner:
            assert await runner.invoke(off, {}, request_id="t") == Throttled()
            tasks = [asyncio.create_task(runner.invoke(fn, {}, request_id=f"r{i}")) for i in range(5)]
            while len(runner.workers("limited")) < 2:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # the other three wait for one of the two
            assert len(runner.workers("limited")) == 2
            assert not any(task.done() for task in tasks)
            gate.write_text("open")
            outcomes = await asyncio.gather(*tasks)
            assert all(isinstance(o, Returned) for o in outcomes)
            assert len({o.value for o in outcomes}) == 2

    asyncio.run(main())


def test_async_handler_runs_to_completion(make_function: WriteCode) -> None:
    fn = make_function("coro", """
        import asyncio
        async def handler(event, context):
            await asyncio.sleep(0.01)
            return event["n"] + 1
    """)

    async def main() -> Any:
        async with WorkerRunner() as runner:
            return await runner.invoke(fn, {"n": 41}, request_id="r")

    assert asyncio.run(main()) == Returned(42)


def test_unusable_definitions_are_function_errors(tmp_path: Path) -> None:
    node = Function(name="node", handler="index.handler", code_dir=tmp_path, runtime="nodejs20.x")
    gone = Function(name="gone", handler="app.handler", code_dir=tmp_path / "missing")

    async def main() -> tuple[Any, ...]:
        async with WorkerRunner() as runner:
            return (await runner.invoke(node, {}, request_id="a"),
                    await runner.invoke(gone, {}, request_id="b"))

    node_outcome, gone_outcome = asyncio.run(main())
    assert isinstance(node_outcome, Raised) and "'nodejs20.x' is not a Python runtime" in node_outcome.error_message
    assert isinstance(gone_outcome, Raised) and "does not exist" in gone_outcome.error_message


@pytest.mark.parametrize("fields, problem", [
    ({"region": "mars"}, "region 'mars' is not an AWS region name"),
    ({"account_id": "123"}, "account_id '123' must be 12 digits"),
    ({"default_concurrency": 0}, "default_concurrency must be 1 or more, not 0"),
])
def test_runner_options_are_checked(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RunnerOptions(**fields)
    RunnerOptions(default_concurrency=1, region="ap-southeast-2", account_id="000000000000")


def test_timeout_also_stops_what_the_handler_started(make_function: WriteCode, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    fn = make_function("spawner", f"""
        import subprocess, time
        def handler(event, context):
            child = subprocess.Popen(["sleep", "120"])
            with open({str(pid_file)!r}, "w") as f:
                f.write(str(child.pid))
            time.sleep(60)
    """, timeout_s=1)

    async def main() -> Any:
        async with WorkerRunner() as runner:
            return await runner.invoke(fn, {}, request_id="r")

    assert asyncio.run(main()) == TimedOut(1.0)
    # SIGKILL to the group is sent before invoke returns; the kernel ends the
    # child asynchronously, so allow it a moment (it would live 120 s otherwise).
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


SERVER = """
import asyncio, sys
from framer.functions import Function, WorkerRunner

async def main():
    fn = Function(name="spin", handler="app.handler", code_dir=sys.argv[1], timeout_s=900)
    runner = WorkerRunner()
    task = asyncio.create_task(runner.invoke(fn, {}, request_id="r"))
    while not runner.workers("spin"):
        await asyncio.sleep(0.05)
    print(runner.workers("spin")[0], flush=True)
    await task

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_server(make_function: WriteCode, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    fn = make_function("spin", "def handler(event, context):\n    while True:\n        pass\n")
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(fn.code_dir)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        worker_pid = int(server.stdout.readline())
        assert _alive(worker_pid)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    for _ in range(200):  # the kernel delivers the parent-death signal; give it up to 10 s
        if not _alive(worker_pid):
            break
        time.sleep(0.05)
    assert not _alive(worker_pid)


def test_worker_dying_while_importing_fails_the_invocation(make_function: WriteCode) -> None:
    fn = make_function("dies", "import os\nos._exit(3)\n")

    async def main() -> Any:
        async with WorkerRunner() as runner:
            return [await runner.invoke(fn, {}, request_id=r) for r in ("a", "b")]

    assert asyncio.run(main()) == [Crashed("exit status 3")] * 2


# -- pipelining: invocations written ahead to a warm worker -----------------------


def test_invocation_written_behind_a_slow_one_is_taken_back_and_runs_once_elsewhere(
        make_function: WriteCode, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ran = tmp_path / "ran"
    fn = make_function("behind", f"""
        import os, time
        def handler(event, context):
            with open({str(ran)!r}, "a") as f:
                f.write(context.aws_request_id + "\\n")
            time.sleep(event["sleep"])
            return os.getpid()
    """, timeout_s=30)
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def main() -> None:
        async with WorkerRunner() as runner:
            warm = await runner.invoke(fn, {"sleep": 0}, request_id="warm")
            assert isinstance(warm, Returned)
            # Both are written to the one warm worker in this loop iteration.
            slow = asyncio.create_task(runner.invoke(fn, {"sleep": 3}, request_id="slow"))
            quick = asyncio.create_task(runner.invoke(fn, {"sleep": 0}, request_id="quick"))
            done, _ = await asyncio.wait([quick], timeout=2.5)
            assert done == {quick}, "the quick invocation waited for the slow one"
            assert not slow.done()
            assert quick.result() != Returned(warm.value)  # taken back, run by another worker
            assert (await slow) == Returned(warm.value)

    asyncio.run(main())
    assert sorted(ran.read_text().split()) == ["quick", "slow", "warm"]  # each ran once
    lines = [r.getMessage() for r in caplog.records if r.name == "framer.functions.behind"]
    assert [line for line in lines if line.startswith("START")] == [
        f"START RequestId: {r} Version: $LATEST" for r in ("warm", "slow", "quick")]


def test_invocations_written_behind_a_crash_run_on_a_new_worker(make_function: WriteCode) -> None:
    fn = make_function("crashes", """
        import os
        def handler(event, context):
            if event.get("crash"):
                os._exit(2)
            return os.getpid()
    """)

    async def main() -> list[Any]:
        async with WorkerRunner() as runner:
            warm = await runner.invoke(fn, {}, request_id="warm")
            outcomes = await asyncio.gather(
                runner.invoke(fn, {"crash": True}, request_id="crash"),
                *(runner.invoke(fn, {}, request_id=f"after{n}") for n in range(3)))
            return [warm, *outcomes]

    warm, crashed, *after = asyncio.run(main())
    assert crashed == Crashed("exit status 2")
    assert all(isinstance(o, Returned) and o.value != warm.value for o in after)


def test_a_burst_is_pipelined_in_order_with_each_invocation_once(
        make_function: WriteCode, caplog: pytest.LogCaptureFixture) -> None:
    fn = make_function("burst", """
        import os
        def handler(event, context):
            print("running", event["n"])
            return [os.getpid(), event["n"]]
    """, reserved_concurrency=1)
    caplog.set_level(logging.INFO, logger="framer.functions")

    async def main() -> list[Any]:
        async with WorkerRunner() as runner:
            return await asyncio.gather(*(runner.invoke(fn, {"n": n}, request_id=f"r{n}")
                                          for n in range(40)))

    outcomes = asyncio.run(main())
    assert [o.value[1] for o in outcomes] == list(range(40))
    assert len({o.value[0] for o in outcomes}) == 1  # one worker: its reserved concurrency
    lines = [r.getMessage() for r in caplog.records if r.name == "framer.functions.burst"]
    expected = []
    for n in range(40):
        expected += [f"START RequestId: r{n} Version: $LATEST", f"running {n}", f"END RequestId: r{n}"]
    assert [line for line in lines if not line.startswith("REPORT")] == expected


def test_a_timeout_counts_from_the_turn_of_its_invocation(make_function: WriteCode) -> None:
    # One worker (reserved concurrency 1): the second and third invocations wait
    # for the first; each has its own second from when its turn comes.
    fn = make_function("turns", """
        import time
        def handler(event, context):
            time.sleep(event["sleep"])
            return event["sleep"]
    """, reserved_concurrency=1, timeout_s=1)

    async def main() -> list[Any]:
        async with WorkerRunner() as runner:
            await runner.invoke(fn, {"sleep": 0}, request_id="warm")
            return await asyncio.gather(*(runner.invoke(fn, {"sleep": s}, request_id=f"r{n}")
                                          for n, s in enumerate([0.5, 0.5, 5, 0.5])))

    assert asyncio.run(main()) == [Returned(0.5), Returned(0.5), TimedOut(1.0), Returned(0.5)]
