"""The one launcher: each way a child says it is ready (the JSON ready line, a regex, an HTTP
probe), a start that fails (exit first, deadline, missing program) with the stderr tail in the
error, later lines awaited on arrival, and stop/kill: the exit status, the recorded reason a
supervisor reads, and a stderr file that lives only as long as the process."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from pathlib import Path

import pytest

from testbed.errors import ProcessStartError, WaitTimeout
from testbed.process import ReadySpec, program_name, python_module_argv, start_server

CHILD = ("import json, signal, sys; print('to stderr', file=sys.stderr, flush=True); "
         "print('noise before'); print(json.dumps({'event': 'ready', 'url': 'http://127.0.0.1:1'}), flush=True); "
         "signal.pause()")
REGEX_CHILD = ("import signal, sys; print('gut log line', file=sys.stderr, flush=True); "
               "print('listening on http://127.0.0.1:9', flush=True); signal.pause()")
# Serves 200 on / once listening, then prints its port on a line that is no ready line.
HTTP_CHILD = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
print("port", srv.server_address[1], flush=True)
srv.serve_forever()
"""


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files go to a directory of the test's own, so leftovers can be seen."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_json_ready_line_is_found_among_other_lines_and_becomes_ready() -> None:
    proc = start_server([sys.executable, "-c", CHILD])
    try:
        assert proc.ready == {"event": "ready", "url": "http://127.0.0.1:1"} and proc.url == "http://127.0.0.1:1"
        assert proc.lines[0] == "noise before\n"
    finally:
        proc.stop()


def test_a_ready_regex_gives_its_named_groups() -> None:
    proc = start_server([sys.executable, "-c", REGEX_CHILD], ReadySpec(line=r"listening on (?P<url>\S+)"))
    try:
        assert proc.ready == {"url": "http://127.0.0.1:9"} and proc.url == "http://127.0.0.1:9"
    finally:
        proc.stop()


def test_an_http_probe_waits_until_the_url_answers() -> None:
    port = _free_port()
    proc = start_server([sys.executable, "-c", HTTP_CHILD, str(port)], ReadySpec(http=f"http://127.0.0.1:{port}/"))
    try:
        assert proc.ready == {} and proc.alive()
        assert f"port {port}\n" in proc.lines
    finally:
        proc.stop()


def test_a_regex_and_an_http_probe_are_both_awaited() -> None:
    port = _free_port()
    spec = ReadySpec(line=r"port (?P<port>\d+)", http=f"http://127.0.0.1:{port}/")
    proc = start_server([sys.executable, "-c", HTTP_CHILD, str(port)], spec)
    try:
        assert proc.ready == {"port": str(port)}
    finally:
        proc.stop()


@pytest.mark.parametrize("spec", [ReadySpec(), ReadySpec(line="never"), ReadySpec(http="http://127.0.0.1:9/")],
                         ids=["json", "regex", "http"])
def test_a_child_that_exits_first_fails_at_once_with_its_stderr(spec: ReadySpec, private_tmp: Path) -> None:
    script = "import sys; print('boom-at-start', file=sys.stderr); sys.exit(3)"
    with pytest.raises(ProcessStartError, match=r"(?s)did not become ready: .*exited.*boom-at-start"):
        start_server([sys.executable, "-c", script], spec)
    assert os.listdir(private_tmp) == []


def test_a_child_silent_past_the_deadline_is_killed_and_its_stderr_tail_shown(private_tmp: Path) -> None:
    script = "import signal, sys; print('x' * 9000 + 'last-words', file=sys.stderr, flush=True); signal.pause()"
    with pytest.raises(ProcessStartError) as caught:
        start_server([sys.executable, "-c", script], ReadySpec(timeout_s=0.5))
    message = str(caught.value)
    assert "the ready line not seen within 0.5s" in message
    assert message.endswith("last-words\n") and "x" * 5000 not in message
    assert os.listdir(private_tmp) == []


def test_a_program_that_logs_readiness_to_stderr_is_read_with_merge_stderr(private_tmp: Path) -> None:
    script = "import signal, sys; print('Server is ready on 4222', file=sys.stderr, flush=True); signal.pause()"
    proc = start_server([sys.executable, "-c", script], ReadySpec(line=r"ready on (?P<port>\d+)"), merge_stderr=True)
    assert proc.ready == {"port": "4222"} and proc.stderr_path is None and os.listdir(private_tmp) == []
    proc.stop()
    assert "Server is ready" in proc.stderr_text() and "Server is ready" in proc.stderr_tail()
    failing = "import sys; print('merged-last-words', file=sys.stderr); sys.exit(2)"
    with pytest.raises(ProcessStartError, match="merged-last-words"):
        start_server([sys.executable, "-c", failing], ReadySpec(line="never"), merge_stderr=True)


def test_timeout_replaces_the_spec_deadline() -> None:
    with pytest.raises(ProcessStartError, match="within 0.2s"):
        start_server([sys.executable, "-c", "import signal; signal.pause()"], ReadySpec(timeout_s=60), timeout=0.2)


def test_a_missing_program_is_a_start_error(private_tmp: Path) -> None:
    with pytest.raises(ProcessStartError, match="cannot start no-such-program-here"):
        start_server([str(private_tmp / "no-such-program-here")])
    assert os.listdir(private_tmp) == []


def test_the_error_names_the_module_never_the_whole_command_line() -> None:
    assert program_name(python_module_argv("fake_middleware", "--port", "0")) == "fake_middleware"
    assert program_name(python_module_argv("testbed", "gateway", "--config", "c.yaml")) == "testbed gateway"
    assert program_name(["/opt/gw/bin/litellm", "--api-key", "sk-secret"]) == "litellm"


def test_later_lines_are_awaited_in_order_and_the_end_of_output_ends_the_wait() -> None:
    script = ("import json; print(json.dumps({'event': 'ready', 'url': 'u'}), flush=True); "
              "[print('event', i, flush=True) for i in range(3)]")
    proc = start_server([sys.executable, "-c", script])
    first, after = proc.wait_for_line(r"event (\d)", 30)
    second, after = proc.wait_for_line(r"event (\d)", 30, after=after)
    assert (first.group(1), second.group(1)) == ("0", "1")
    with pytest.raises(WaitTimeout, match="exited"):
        proc.wait_for_line("never printed", 30)
    assert proc.popen.wait(30) == 0 and proc.stop() == 0


def test_bytes_that_are_not_utf8_do_not_stop_the_reading_of_stdout() -> None:
    script = ("import json, signal, sys; sys.stdout.buffer.write(b'\\xff\\xfe junk\\n'); "
              "print(json.dumps({'event': 'ready', 'url': 'u'}), flush=True); signal.pause()")
    proc = start_server([sys.executable, "-c", script], timeout=10)
    assert proc.url == "u" and "junk" in proc.lines[0]
    proc.stop()


def test_a_json_event_is_awaited_by_its_name_and_fields() -> None:
    script = ("import json; print(json.dumps({'event': 'ready', 'url': 'u'}), flush=True); "
              "[print(json.dumps({'event': 'restarted', 'part': p}), flush=True) for p in ('exporter', 'gateway')]; "
              "print('{not json', flush=True)")
    proc = start_server([sys.executable, "-c", script])
    event, after = proc.wait_for_event("restarted", 30, part="gateway")
    assert event == {"event": "restarted", "part": "gateway"} and proc.lines[after - 1].startswith('{"event"')
    with pytest.raises(WaitTimeout, match="exited before event 'restarted'"):
        proc.wait_for_event("restarted", 30, after=after)
    proc.stop()


@pytest.mark.parametrize(("how", "status"), [("stop", -signal.SIGTERM), ("kill", -signal.SIGKILL)])
def test_stop_and_kill_return_the_status_record_the_reason_and_delete_the_stderr_file(how: str, status: int) -> None:
    proc = start_server([sys.executable, "-c", CHILD])
    path = proc.stderr_path
    assert os.path.exists(path) and proc.stop_reason is None
    assert getattr(proc, how)() == status
    assert getattr(proc, how)() == status  # idempotent
    assert not os.path.exists(path) and not proc.alive()
    assert "to stderr" in proc.stderr_text() and "to stderr" in proc.stderr_tail()
    assert proc.stop_reason == {"stop": "stopped", "kill": "killed"}[how]


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored() -> None:
    script = ("import json, signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
              "print(json.dumps({'event': 'ready', 'url': 'u'}), flush=True); signal.pause()")
    proc = start_server([sys.executable, "-c", script])
    assert proc.stop(timeout=0.2) == -signal.SIGKILL


def test_a_child_killed_from_outside_has_no_stop_reason_and_is_released_on_stop() -> None:
    proc = start_server([sys.executable, "-c", CHILD])
    os.kill(proc.pid, signal.SIGKILL)
    proc.popen.wait(30)
    assert proc.stop_reason is None and os.path.exists(proc.stderr_path)
    assert proc.stop() == -signal.SIGKILL
    assert proc.stop_reason is None and not os.path.exists(proc.stderr_path)
