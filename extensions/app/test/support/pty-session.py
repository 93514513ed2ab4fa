"""Runs a command on a new pseudo-terminal, as a terminal window does: the
command leads a new session whose controlling terminal is the pty; its
output is relayed to this process's stdout. Killing this process closes the
terminal (the pty's master side), which hangs it up: SIGHUP to the session.

    python3 pty-session.py npm start     # prints "pty-session child <pid>" first
"""
import os
import pty
import sys
import termios

pid, master = pty.fork()
if pid == 0:
    # Lines as written ("\n", not the terminal's "\r\n"), for whoever reads the relay.
    attrs = termios.tcgetattr(1)
    attrs[1] &= ~termios.ONLCR
    termios.tcsetattr(1, termios.TCSANOW, attrs)
    os.execvp(sys.argv[1], sys.argv[1:])
sys.stdout.write(f"pty-session child {pid}\n")
sys.stdout.flush()
while True:
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: the session ended
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
os.waitpid(pid, 0)
