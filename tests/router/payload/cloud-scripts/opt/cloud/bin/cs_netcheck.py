# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project
"""Minimal DNS and HTTP clients (stdlib only) shared by the health checks and the downtime probe."""
from __future__ import annotations

import random
import socket
import struct


def dns_query(name: str, server: str = "127.0.0.1", port: int = 53, timeout: float = 1.0) -> list[str]:
    """Resolve an A record; return the addresses (empty list for NXDOMAIN). Raises OSError when nothing answers."""
    qid = random.randint(0, 0xFFFF)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) + b"\x00"
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, port))
        data = sock.recvfrom(4096)[0]
    rid, flags, qdcount, ancount = struct.unpack("!HHHH", data[:8])
    if rid != qid:
        raise OSError("DNS answer for another query")
    if flags & 0x000F not in (0, 3):
        raise OSError(f"DNS server failure (rcode {flags & 0x000F})")
    offset = 12
    for _question in range(qdcount):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _answer in range(ancount):
        offset = _skip_name(data, offset)
        rtype, _rclass, _ttl, rdlength = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == 1 and rdlength == 4:
            addresses.append(socket.inet_ntoa(data[offset:offset + 4]))
        offset += rdlength
    return addresses


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += length + 1


def http_get(path: str = "/", host: str = "127.0.0.1", port: int = 80, timeout: float = 1.0) -> tuple[int, bytes]:
    """One HTTP/1.0 GET; return (status, body). Raises OSError when the server does not answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _separator, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2:
        raise OSError("malformed HTTP answer")
    return int(status_line[1]), body
