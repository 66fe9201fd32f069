# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: Contributors to the acs.upgrade project

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module that talks to the CloudStack API.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - URL of the CloudStack API, for example V(https://cloud.example.com/client/api).
      - If not set, the environment variable E(CLOUDSTACK_ENDPOINT), then the C(endpoint) of the O(api_region)
        section of the C(cloudstack.ini) file is used.
      - The unauthenticated integration port 8096 is never needed; use a signed endpoint.
    type: str
  api_key:
    description:
      - API key of a CloudStack user. Most actions of this collection need a root admin key.
      - If not set, E(CLOUDSTACK_KEY), then C(key) of the C(cloudstack.ini) section is used.
      - Like the secret, it is never logged or returned (not even in the module arguments C(-vvvv) shows).
    type: str
  api_secret:
    description:
      - Secret key that signs the requests. It is never sent, logged or returned.
      - If not set, E(CLOUDSTACK_SECRET), then C(secret) of the C(cloudstack.ini) section is used.
    type: str
  api_timeout:
    description:
      - HTTP timeout of one API request, in seconds; must be more than 0 and at most 86400 (one day).
      - If not set, E(CLOUDSTACK_TIMEOUT), then C(timeout) of the C(cloudstack.ini) section, then V(10) is used.
      - When the answer to a mutation does not come within this time, its job is looked for (by command, object
        and start time) during three times this time after the request was sent before anything is sent again;
        when it cannot be proven absent, the target is reported C(outcome_unknown) and nothing is resent.
    type: int
  api_verify_ssl_cert:
    description:
      - Whether to verify the TLS certificate of the API endpoint; V(true), V(false), or the path of a CA bundle.
      - If not set, E(CLOUDSTACK_VERIFY), then C(verify) of the C(cloudstack.ini) section, then V(true) is used.
    type: str
  api_http_method:
    description:
      - HTTP method of the requests.
      - If not set, E(CLOUDSTACK_METHOD), then C(method) of the C(cloudstack.ini) section, then V(get) is used.
    type: str
    choices: [get, post]
  api_region:
    description:
      - Section of the C(cloudstack.ini) file to read the connection from.
      - The file is E(CLOUDSTACK_CONFIG), else C(./cloudstack.ini), else C(~/.cloudstack.ini).
      - If not set, E(CLOUDSTACK_REGION), then V(cloudstack) is used.
    type: str
  api_signature_version:
    description:
      - Request signature version. V(3) adds an C(expires) time to every request so that a captured URL
        cannot be replayed later; V(2) is the plain signature for old management servers.
    type: int
    choices: [2, 3]
    default: 3
requirements:
  - requests
notes:
  - Every list is read page by page (500 items a page), so clouds with tens of thousands of routers work.
  - Read-only calls are retried with capped backoff on connection errors, HTTP 429 and 5xx; a mutating call is
    never sent twice without first checking whether the first attempt started a job.
"""
