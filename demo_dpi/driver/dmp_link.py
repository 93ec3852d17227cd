"""The demo's DMP link: the DMP simulator's control listener (campaign ``dmp.control_url``) stops and
restarts its service, so the demo DPI meets a refused connection in between."""
from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

from segur_helpers.drivers.dmp import DmpExchange
from segur_helpers.drivers.dmp_link import DmpLink
from segur_helpers.errors import TargetUnreachable


class DemoDmpLink(DmpLink):
    @property
    def control(self) -> str:
        url = (self.driver.ctx.campaign.section("dmp") or {}).get("control_url", "")
        if not url:
            raise TargetUnreachable("la campagne n'indique pas dmp.control_url : impossible de couper le DMP")
        return url.rstrip("/")

    def _post(self, path: str) -> DmpExchange:
        url = self.control + path
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=15) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise TargetUnreachable(f"contrôle du DMP injoignable : {url} ({getattr(exc, 'reason', exc)})") from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        if status != 200:
            raise RuntimeError(f"DMP control {path} answered HTTP {status}")
        return DmpExchange(request={"method": "POST", "url": url}, response={"status": status, "body": body},
                           status=status, body=body)

    async def cut(self):
        return await asyncio.to_thread(self._post, "/service/stop")

    async def restore(self):
        return await asyncio.to_thread(self._post, "/service/start")
