"""The address of an outside system an administrator enters (ORCA, PACS …): one rule for all of them; and the host
lists an operator allows outgoing calls to (the partner webhooks'), with which network addresses count as public."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from app.core.errors import ValidationError

_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_LOOPBACK = re.compile(r"http://(127\.0\.0\.1|localhost)[:/]")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def url_shape(raw: str | None) -> str:
    """The URL trimmed ("" for none); ValidationError (on `base_url`) unless it is http(s)://host[/path]."""
    url = (raw or "").strip()
    if url and not _URL.fullmatch(url):
        raise ValidationError("URLは http:// または https:// で始まる形で入力してください", field="base_url")
    return url


def connection_url(raw: str | None, system: str, carried: str) -> str:
    """The URL as stored (trimmed, no trailing slash; "" for none). Refused (ValidationError on `base_url`): anything
    but http(s), and plain http to anything but this machine — `carried` says what would travel unencrypted."""
    url = url_shape(raw).rstrip("/")
    if url.startswith("http://") and not _LOOPBACK.match(url + "/"):
        raise ValidationError(f"院外の{system}には https:// で接続してください（{carried}を暗号化せずに送れません）",
                              field="base_url")
    return url


def normal_host(host: str) -> str:
    """A host name as compared: lower case, no trailing dot, an IPv6 literal without its brackets."""
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet: not loopback, private (RFC 1918, ULA), link-local (the
    cloud metadata address 169.254.169.254 among them), shared, reserved or multicast — an IPv4-mapped IPv6 address
    judged as its IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is not part of the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HostList:
    """Hosts an operator allowed: exact names (or IP addresses), and "*.domain" for every name under a domain."""

    names: frozenset[str] = frozenset()
    #: ".domain" of each "*.domain" entry (the domain itself is not included: list it on its own).
    domains: tuple[str, ...] = ()

    def __contains__(self, host: object) -> bool:
        name = normal_host(str(host))
        return bool(name) and (name in self.names or name.endswith(self.domains))

    def __bool__(self) -> bool:
        return bool(self.names or self.domains)

    def describe(self) -> str:
        """The entries as an operator wrote them, sorted."""
        return ", ".join(sorted(self.names) + sorted(f"*{d}" for d in self.domains))


def host_list(text: str | None, *, wildcards: bool = True) -> tuple[HostList, list[str]]:
    """The hosts of a comma- or space-separated setting, and the entries refused: anything but a host name, an IP
    address or (when `wildcards`) "*.domain" — a scheme, a port or a path has no place in it."""
    names: set[str] = set()
    domains: list[str] = []
    refused: list[str] = []
    for entry in re.split(r"[,\s]+", text or ""):
        if not entry:
            continue
        host = normal_host(entry)
        if wildcards and host.startswith("*.") and _HOST_NAME.fullmatch(host[2:]) and "." in host[2:]:
            domains.append(host[1:])
        elif _is_ip(host) or _HOST_NAME.fullmatch(host):
            names.add(host)
        else:
            refused.append(entry)
    return HostList(frozenset(names), tuple(sorted(set(domains)))), refused
