"""Drives a running imini gateway with the official OpenAI Python SDK, changing
only base_url, as README.md tells users to. Exits non-zero on any mismatch.

Usage: python openai_sdk_check.py BASE_URL API_KEY
"""

import base64
import struct
import sys
import warnings
import zlib

from openai import NotFoundError, OpenAI

warnings.simplefilter("ignore", DeprecationWarning)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def rgba_png(width: int, height: int, pixel) -> bytes:
    """An 8-bit RGBA PNG whose pixel (x, y) is pixel(x, y)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    base_url, key = sys.argv[1], sys.argv[2]
    client = OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0)

    result = client.images.generate(
        model="imini/canvas-image",
        prompt="a lighthouse at dusk, watercolor",
        size="512x256",
        response_format="b64_json",
        extra_body={"seed": 7},
    )
    assert png_size(base64.b64decode(result.data[0].b64_json)) == (512, 256)
    again = client.images.generate(
        model="imini/canvas-image",
        prompt="a lighthouse at dusk, watercolor",
        size="512x256",
        response_format="b64_json",
        extra_body={"seed": 7},
    )
    assert again.data[0].b64_json == result.data[0].b64_json, "same prompt and seed, same bytes"

    by_url = client.images.generate(prompt="neon city at night", size="256x256")
    assert by_url.data[0].url.startswith(base_url), by_url.data[0].url

    try:
        client.images.generate(model="nobody/nothing", prompt="x")
        raise AssertionError("an unknown model must fail")
    except NotFoundError as e:
        assert e.status_code == 404
        assert e.body["code"] == "MODEL_NOT_FOUND", e.body

    models = [m.id for m in client.models.list()]
    assert "imini/canvas-image" in models and "imini/canvas-video" in models, models

    video = client.videos.create(prompt="ocean waves at dawn", seconds="1", size="320x180")
    assert video.status in ("queued", "in_progress"), video.status
    done = client.videos.poll(video.id, poll_interval_ms=100)
    assert done.status == "completed", done
    assert done.progress == 100
    content = client.videos.download_content(done.id).read()
    assert content[:6] in (b"GIF89a", b"GIF87a"), content[:6]
    listed = [v.id for v in client.videos.list()]
    assert done.id in listed, listed

    # Edits: a red picture; the mask keeps its left half (opaque) and
    # lets the right half be redrawn (transparent).
    red = rgba_png(64, 64, lambda x, y: (230, 20, 20, 255))
    mask = rgba_png(64, 64, lambda x, y: (0, 0, 0, 255 if x < 32 else 0))
    edited = client.images.edit(
        model="imini/canvas-image",
        image=("red.png", red, "image/png"),
        mask=("mask.png", mask, "image/png"),
        prompt="a snowy forest under a blue sky",
        size="64x64",
        response_format="b64_json",
    )
    assert png_size(base64.b64decode(edited.data[0].b64_json)) == (64, 64)
    # Printed for the Rust side to look at the pixels.
    print("edited:", edited.data[0].b64_json)
    several = client.images.edit(
        image=[("a.png", red, "image/png"), ("b.png", red, "image/png")],
        prompt="a snowy forest",
        n=2,
        size="64x64",
    )
    assert len(several.data) == 2, several
    assert several.data[0].url.startswith(base_url), several.data[0].url

    started = client.videos.create(
        prompt="ocean waves at dawn",
        seconds="1",
        size="320x180",
        input_reference=("red.png", red, "image/png"),
    )
    from_red = client.videos.poll(started.id, poll_interval_ms=100)
    assert from_red.status == "completed", from_red
    gif = client.videos.download_content(from_red.id).read()
    print("started from red:", base64.b64encode(gif).decode())
    print("openai sdk check: ok")


if __name__ == "__main__":
    main()
