"""MockCommunity (py-ipv8's ``ipv8.test.mocking.community``)."""
from __future__ import annotations

from ..community import CommunitySettings
from ..discovery_community import DiscoveryCommunity
from ..keys import default_eccrypto
from ..network import Network
from ..peer import Peer
from .endpoint import AutoMockEndpoint

__all__ = ["DEFAULT_COMMUNITY_SETTINGS", "MockCommunity"]

DEFAULT_COMMUNITY_SETTINGS = CommunitySettings()


class MockCommunity(DiscoveryCommunity):
    """A standalone DiscoveryCommunity on its own opened AutoMockEndpoint (``settings`` is ignored).

    Tests must ``await overlay.unload()`` it themselves.
    """

    def __init__(self, settings: CommunitySettings = DEFAULT_COMMUNITY_SETTINGS) -> None:
        endpoint = AutoMockEndpoint()
        endpoint.open()
        own = CommunitySettings(endpoint=endpoint, network=Network(),
                                my_peer=Peer(default_eccrypto.generate_key("very-low"), endpoint.wan_address))
        super().__init__(own)
        self._use_main_thread = False
        self.my_estimated_lan = endpoint.lan_address
        self.my_estimated_wan = endpoint.wan_address
