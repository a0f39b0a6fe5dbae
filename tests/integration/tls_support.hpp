#pragma once
// TLS helpers for the integration tests: a private CA and server certificates generated at test
// time (OpenSSL 3 C API, nothing to install), a TLS-terminating forwarder in front of the plain
// mock, and a tiny HTTP CONNECT proxy. Asio and OpenSSL live only in tls_support.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tg::it::tls {

// PEM files written to a fresh temp directory.
struct Pki {
  std::string dir;
  std::string ca_pem;    // the CA certificate (what a client trusts)
  std::string cert_pem;  // the server certificate, signed by the CA
  std::string key_pem;   // the server's private key
};

// Generates a CA ("Tollgate Test CA") and a server certificate signed by it whose
// subjectAltName holds exactly these DNS names and IP addresses (CN = the first DNS name, or the
// first IP). Throws std::runtime_error on failure.
Pki make_pki(const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_sans);

// Accepts TLS on 127.0.0.1:<ephemeral> with the given certificate and pumps the decrypted bytes
// both ways to 127.0.0.1:<target_port> (no HTTP parsing). Runs on its own thread and io_context;
// the destructor closes every connection and joins the thread.
class TlsForwarder {
 public:
  TlsForwarder(const std::string& cert_pem, const std::string& key_pem, uint16_t target_port);
  ~TlsForwarder();
  TlsForwarder(const TlsForwarder&) = delete;
  TlsForwarder& operator=(const TlsForwarder&) = delete;

  uint16_t port() const;
  int accepted() const;           // TCP connections accepted
  int handshakes() const;         // TLS handshakes completed
  int resumed_handshakes() const; // of those, how many resumed an earlier session
  int failed_handshakes() const;  // TLS handshakes that failed (e.g. the client refused the cert)
  std::vector<std::string> sni() const;  // the SNI of each completed handshake ("" for none)
  int open_connections() const;          // client connections currently open

  // Closes every open connection at the TCP level, without a TLS close_notify, the way a server
  // or load balancer drops idle keep-alive connections. Returns how many were closed.
  int drop_connections();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// A minimal HTTP CONNECT proxy on 127.0.0.1:<ephemeral>: reads "CONNECT host:port HTTP/1.1"
// and its head, connects to host:port, answers "HTTP/1.1 200 Connection established", then pumps
// bytes both ways. Anything but CONNECT gets a 405. Own thread and io_context, joined on
// destruction.
class ConnectProxy {
 public:
  ConnectProxy();
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  uint16_t port() const;
  std::string url() const;  // http://127.0.0.1:PORT
  int accepted() const;     // TCP connections accepted
  int connects() const;     // CONNECTs served (tunnel established)
  std::vector<std::string> targets() const;  // the host:port of each CONNECT, in order

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tg::it::tls
