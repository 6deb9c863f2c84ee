"""Sample targets bundled with the suite.

* :mod:`conformance.servers.reference`: a correct, policy-driven CORS implementation (one
  decision core, thin ASGI 3 and WSGI adapters); the default target and the suite's control.
* :mod:`conformance.servers.zoo`: deliberately broken variants of it, one per known bug class;
  the suite must catch each with the right kind and grade.
"""
