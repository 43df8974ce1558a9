"""A py-ipv8-style service script (written for ipv8fast's tests, like py-ipv8's own service scripts): the
default configuration with every default overlay, message statistics, and py-ipv8's REST API on 127.0.0.1
(``python rest_program.py PORT``), running until its standard input closes (at most 60 s)."""
import asyncio
import sys

from ipv8.REST.rest_manager import RESTManager
from ipv8.configuration import get_default_configuration
from ipv8_service import IPv8


async def main(port):
    ipv8 = IPv8(get_default_configuration(), enable_statistics=True)
    await ipv8.start()
    rest = RESTManager(ipv8)
    await rest.start(port, host="127.0.0.1")
    print("REST on", port, flush=True)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, sys.stdin.read), 60)
    except asyncio.TimeoutError:
        pass
    await rest.stop()
    await ipv8.stop()
    print("stopped", flush=True)


asyncio.run(main(int(sys.argv[1])))
