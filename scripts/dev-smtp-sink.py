#!/usr/bin/env python3
"""A development SMTP sink: accepts every message and saves it as an .eml file.

Used by scripts/dev.sh when SMTP_URL is not set, so emails the worker sends in development
land in .keel/mail/ instead of failing. Standard library only.
Usage: dev-smtp-sink.py HOST PORT DIRECTORY
"""
import asyncio
import pathlib
import sys
import time


async def session(reader, writer, outdir):
    writer.write(b"220 keel-dev-sink ESMTP\r\n")
    await writer.drain()
    rcpt = []
    while line := await reader.readline():
        cmd = line.decode("latin-1").strip()
        upper = cmd.upper()
        if upper.startswith("EHLO"):
            writer.write(b"250-keel-dev-sink\r\n250 8BITMIME\r\n")
        elif upper.startswith(("HELO", "MAIL FROM", "RSET", "NOOP")):
            writer.write(b"250 OK\r\n")
        elif upper.startswith("RCPT TO"):
            rcpt.append(cmd[8:].strip(" <>"))
            writer.write(b"250 OK\r\n")
        elif upper == "DATA":
            writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            await writer.drain()
            data = bytearray()
            while (chunk := await reader.readline()) not in (b".\r\n", b".\n", b""):
                data += chunk[1:] if chunk.startswith(b".") else chunk
            path = outdir / f"{time.time_ns()}.eml"
            path.write_bytes(bytes(data))
            print(f"mail to {', '.join(rcpt)} saved as {path}", flush=True)
            rcpt = []
            writer.write(b"250 OK: saved\r\n")
        elif upper == "QUIT":
            writer.write(b"221 Bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"502 Command not implemented\r\n")
        await writer.drain()
    writer.close()


async def main():
    host, port, outdir = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
    outdir.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(lambda r, w: session(r, w, outdir), host, port)
    print(f"development SMTP sink on {host}:{port}, saving to {outdir}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
