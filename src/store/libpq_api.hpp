#pragma once
// libpq, loaded at run time (dlopen) the first time a PostgreSQL connection is made, instead of
// linked: libpq brings about twenty libraries (Kerberos, LDAP, GnuTLS, ...) whose loading and
// relocation cost an instance on SQLite, the default, about 3 MB of memory for nothing. Only
// postgres_conn.cpp uses this; everything else goes through pg::Conn.

#include <libpq-fe.h>  // the types and signatures only: nothing here links against libpq

namespace tg::store::pg {

// The functions Tollgate calls, with libpq's own names and types.
struct LibpqApi {
  decltype(&::PQconnectdbParams) PQconnectdbParams;
  decltype(&::PQstatus) PQstatus;
  decltype(&::PQerrorMessage) PQerrorMessage;
  decltype(&::PQsetNoticeProcessor) PQsetNoticeProcessor;
  decltype(&::PQbackendPID) PQbackendPID;
  decltype(&::PQfinish) PQfinish;
  decltype(&::PQexec) PQexec;
  decltype(&::PQexecParams) PQexecParams;
  decltype(&::PQresultStatus) PQresultStatus;
  decltype(&::PQresultErrorMessage) PQresultErrorMessage;
  decltype(&::PQclear) PQclear;
  decltype(&::PQntuples) PQntuples;
  decltype(&::PQcmdTuples) PQcmdTuples;
  decltype(&::PQgetisnull) PQgetisnull;
  decltype(&::PQgetvalue) PQgetvalue;
  decltype(&::PQgetlength) PQgetlength;
  decltype(&::PQsocket) PQsocket;
  decltype(&::PQconsumeInput) PQconsumeInput;
  decltype(&::PQnotifies) PQnotifies;
  decltype(&::PQfreemem) PQfreemem;
};

// Loads libpq.so.5 once (thread-safe) and returns its functions; throws PgError, saying what to
// install, when the library or one of the functions is missing.
const LibpqApi& libpq();

}  // namespace tg::store::pg
