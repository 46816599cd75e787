"""A stand-in for the HPKIセカンド電子証明書 remote signing service, for tests only: `POST /auth` with the right
one-time code gives the day's token, `POST /sign` with it signs with the project's test signer."""

from __future__ import annotations

from flask import Flask, request

from app.integrations.eprescription.signing import TestSigner
from simulators.testing import RunningSimulator, serve

GOOD_CODE = "123456"
TOKEN = "day-token"


def start_remote_signer(signer: TestSigner) -> tuple[RunningSimulator, dict[str, int]]:
    """Serve it on a free port; the dict counts authentications."""
    fake = Flask("remote-signing")
    counts = {"auth": 0}

    @fake.post("/auth")
    def auth():
        counts["auth"] += 1
        return {"token": TOKEN} if request.json["code"] == GOOD_CODE else ({"error": "bad"}, 401)

    @fake.post("/sign")
    def sign():
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return "", 401
        return signer.sign(request.get_data()), 200, {"Content-Type": "application/xml"}

    return serve(fake, RunningSimulator), counts
