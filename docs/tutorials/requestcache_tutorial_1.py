"""RequestCache basics: wait for a named cache that another task adds a little later."""
import asyncio

from ipv8fast import NumberCacheWithName, RequestCache


class MyState(NumberCacheWithName):
    name = "my-state"

    def __init__(self, request_cache: RequestCache, identifier: int, state: int) -> None:
        super().__init__(request_cache, self.name, identifier)
        self.state = state


async def add_later(request_cache: RequestCache) -> None:
    request_cache.add(MyState(request_cache, 0, 42))


async def main() -> None:
    request_cache = RequestCache()
    request_cache.register_anonymous_task("Add later", add_later, request_cache, delay=1.23)
    cache = await request_cache.wait_for(MyState, 0)
    print(f"Found {cache.name} number {cache.number} with state {cache.state}")
    await request_cache.shutdown()


asyncio.run(main())
