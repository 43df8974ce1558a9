"""Custom wire values with ``fix_pack_<field>`` / ``fix_unpack_<field>``: a VariablePayload and a
DataClassPayload carrying the same JSON-encoded dictionary produce the same bytes."""
from __future__ import annotations

import json
from dataclasses import dataclass

from ipv8.messaging.lazy_payload import VariablePayload, vp_compile
from ipv8.messaging.payload_dataclass import DataClassPayload
from ipv8.messaging.serialization import default_serializer


@vp_compile
class VPMessage(VariablePayload):
    msg_id = 2
    format_list = ["varlenH"]
    names = ["dictionary"]

    def fix_pack_dictionary(self, the_dictionary: dict) -> bytes:
        return json.dumps(the_dictionary, sort_keys=True).encode()

    @classmethod
    def fix_unpack_dictionary(cls, serialized: bytes) -> dict:
        return json.loads(serialized.decode())


@dataclass
class DCMessage(DataClassPayload[2]):
    dictionary: str

    def fix_pack_dictionary(self, the_dictionary: dict) -> str:
        return json.dumps(the_dictionary, sort_keys=True)

    @classmethod
    def fix_unpack_dictionary(cls, serialized: str) -> dict:
        return json.loads(serialized)


value = {"a": 1, "b": [2, 3]}
vp_data = default_serializer.pack_serializable(VPMessage(value))
dc_data = default_serializer.pack_serializable(DCMessage(value))
print(vp_data.hex())
print("identical:", vp_data == dc_data)
print(default_serializer.unpack_serializable(VPMessage, vp_data)[0].dictionary)
print(default_serializer.unpack_serializable(DCMessage, dc_data)[0].dictionary)
