#!/usr/bin/env python3
"""Tiny UDP/TCP endpoints for the lab (standard library only).

  traffic.py udp-send ADDR PORT N       send N datagrams
  traffic.py udp-recv PORT N TIMEOUT    print how many arrived (stops at N or
                                        after TIMEOUT seconds of silence)
  traffic.py tcp-accept PORT TIMEOUT    accept one connection
  traffic.py tcp-connect ADDR PORT TIMEOUT  exit 0 if the handshake completes
  traffic.py tcp-listen PORT SECONDS    accept (and close) connections for SECONDS
  traffic.py tcp-probe ADDR PORT TIMEOUT    print how a connect ends: connected,
                                        refused MS (milliseconds), timeout or
                                        error ERRNO-NAME
"""
import errno
import time
import socket
import sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listener(port, backlog):
    """A TCP socket listening on every v4 and v6 address."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port))
    s.listen(backlog)
    return s


def main(argv):
    cmd = argv[1]
    if cmd == "udp-send":
        addr, port, n = argv[2], int(argv[3]), int(argv[4])
        with socket.socket(family(addr), socket.SOCK_DGRAM) as s:
            for i in range(n):
                s.sendto(b"prefixwall %d" % i, (addr, port))
        return 0
    if cmd == "udp-recv":
        port, n, timeout = int(argv[2]), int(argv[3]), float(argv[4])
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", port))
            s.settimeout(timeout)
            got = 0
            try:
                while got < n:
                    s.recvfrom(2048)
                    got += 1
            except socket.timeout:
                pass
        print(got)
        return 0
    if cmd == "tcp-accept":
        port, timeout = int(argv[2]), float(argv[3])
        with listener(port, 1) as s:
            s.settimeout(timeout)
            try:
                conn, _ = s.accept()
                conn.close()
            except socket.timeout:
                return 1
        return 0
    if cmd == "tcp-connect":
        addr, port, timeout = argv[2], int(argv[3]), float(argv[4])
        try:
            with socket.create_connection((addr, port), timeout=timeout):
                return 0
        except OSError:
            return 1
    if cmd == "tcp-listen":
        port, seconds = int(argv[2]), float(argv[3])
        with listener(port, 16) as s:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                s.settimeout(max(0.01, end - time.monotonic()))
                try:
                    conn, _ = s.accept()
                    conn.close()
                except socket.timeout:
                    pass
        return 0
    if cmd == "tcp-probe":
        addr, port, timeout = argv[2], int(argv[3]), float(argv[4])
        start = time.monotonic()
        try:
            with socket.create_connection((addr, port), timeout=timeout):
                print("connected")
        except ConnectionRefusedError:
            print("refused %.1f" % ((time.monotonic() - start) * 1000))
        except socket.timeout:
            print("timeout")
        except OSError as e:
            print("error %s" % errno.errorcode.get(e.errno, e.errno))
        return 0
    print("traffic.py: unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
