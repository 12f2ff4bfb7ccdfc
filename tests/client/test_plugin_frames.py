"""The plugin's reading of a frame log: answers carry the action of the CALL they answer (the
call travels the other way), oldest first, and what is not OCPP-J stays as it came."""

from __future__ import annotations

from voltlab.client import models
from voltlab.pytest_plugin.frames import frames_of


def _view(frame_id: int, direction: str, frame: object) -> models.FrameView:
    return models.FrameView.model_validate(
        {"id": frame_id, "ts": "2026-01-01T00:00:00Z", "direction": direction, "frame": frame}
    )


def test_answers_are_labelled_with_their_calls_action() -> None:
    log = [  # newest first, as the server lists it
        _view(5, "in", "not json"),
        _view(4, "out", [3, "c1", {"status": "Accepted"}]),
        _view(3, "in", [2, "c1", "RemoteStopTransaction", {"transactionId": 7}]),
        _view(2, "in", [3, "1", {"status": "Accepted", "interval": 300}]),
        _view(1, "out", [2, "1", "BootNotification", {"chargePointVendor": "V"}]),
    ]
    frames = frames_of(log)
    assert [f.id for f in frames] == [1, 2, 3, 4, 5]
    assert [(f.direction, f.kind, f.action) for f in frames] == [
        ("out", "call", "BootNotification"),
        ("in", "result", "BootNotification"),
        ("in", "call", "RemoteStopTransaction"),
        ("out", "result", "RemoteStopTransaction"),
        ("in", "other", None),
    ]
    assert frames[1].payload == {"status": "Accepted", "interval": 300}
    assert frames[4].raw == "not json"
    assert str(frames[0]).endswith('-> [2,"1","BootNotification",{"chargePointVendor":"V"}]')


def test_an_answer_to_a_call_of_its_own_direction_is_not_labelled() -> None:
    """Message ids are per sender: the station's call "1" and the CSMS's call "1" differ."""
    log = [
        _view(1, "in", [2, "1", "Reset", {"type": "Soft"}]),
        _view(2, "in", [4, "1", "NotImplemented", "", {}]),
    ]
    assert [f.action for f in frames_of(log)] == ["Reset", None]
