"""Insighter Lab: the JupyterLab 4.6 distribution with Insighter, served by
Debian's jupyter_server and jupyterlab_server.

Standalone: ``PYTHONPATH=<repo>/jupyter-config /usr/bin/python3 -m insighter_lab``.
As a server extension (JupyterHub single-user servers):
``--ServerApp.jpserver_extensions=insighter_lab=True``.
"""

__version__ = "0.1.0"


def _jupyter_server_extension_points():
    from .app import InsighterLabApp

    return [{"module": "insighter_lab.app", "app": InsighterLabApp}]
