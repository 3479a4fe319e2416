/*
 * TLS 1.3 record known answers: RFC 8448 (Example Handshake Traces for TLS 1.3).
 *
 *   rfc8448-3: §3 "Simple 1-RTT Handshake" — the server's encrypted flight and
 *              the client's Finished under the handshake traffic secrets, the
 *              NewSessionTicket, application_data and close_notify records of
 *              both sides under the application traffic secrets.
 *   rfc8448-4: §4 "Resumed 0-RTT Handshake" — adds the early data and the
 *              EndOfEarlyData under the client early traffic secret.
 *
 * Every trace in RFC 8448 uses TLS_AES_128_GCM_SHA256; it has no ChaCha20 or
 * AES-256 record.
 *
 * Through zrec's public API, on every provider: install the published traffic
 * SECRET (so zrec's HKDF-Expand-Label key derivation is part of the answer),
 * open each published record at its sequence number and compare the plaintext
 * and inner content type; seal the published plaintext and compare the record
 * byte for byte.  Also: the same contiguously, scattered, and in one burst
 * that mixes sessions; tampered records fail with -EBADMSG and are wiped; and
 * (white-box) the derived write key / IV against the published ones.
 *
 * The vectors are laid out 16 octets a line, transcribed from RFC 8448 and
 * checked independently of zrec (with a separate HKDF and AES-GCM) before
 * being committed: every record decrypts under the published secret to the
 * published payload.
 */
#include "kat.h"

#include "internal.h" /* white-box: zrec__derive_traffic against the published key / IV */

/* ---- RFC 8448 §3, Simple 1-RTT Handshake (TLS_AES_128_GCM_SHA256) ---- */

/* {server}  derive secret "tls13 c hs traffic": expanded (32 octets) */
static const char s3_c_hs[] =
    "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f"
    "3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21";

/* {server}  derive read traffic keys for handshake data: key expanded (16 octets) */
static const char s3_c_hs_key[] =
    "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01";

/* {server}  derive read traffic keys for handshake data: iv expanded (12 octets) */
static const char s3_c_hs_iv[] =
    "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f";

/* {server}  derive secret "tls13 s hs traffic": expanded (32 octets) */
static const char s3_s_hs[] =
    "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4"
    "e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38";

/* {server}  derive write traffic keys for handshake data: key expanded (16 octets) */
static const char s3_s_hs_key[] =
    "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc";

/* {server}  derive write traffic keys for handshake data: iv expanded (12 octets) */
static const char s3_s_hs_iv[] =
    "5d 31 3e b2 67 12 76 ee 13 00 0b 30";

/* {server}  derive secret "tls13 c ap traffic": expanded (32 octets) */
static const char s3_c_ap[] =
    "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52"
    "87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";

/* {client}  derive write traffic keys for application data: key expanded (16 octets) */
static const char s3_c_ap_key[] =
    "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";

/* {client}  derive write traffic keys for application data: iv expanded (12 octets) */
static const char s3_c_ap_iv[] =
    "5b 78 92 3d ee 08 57 90 33 e5 23 d9";

/* {server}  derive secret "tls13 s ap traffic": expanded (32 octets) */
static const char s3_s_ap[] =
    "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32"
    "82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";

/* {server}  derive write traffic keys for application data: key expanded (16 octets) */
static const char s3_s_ap_key[] =
    "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";

/* {server}  derive write traffic keys for application data: iv expanded (12 octets) */
static const char s3_s_ap_iv[] =
    "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";

/* {server}  send handshake record: payload (657 octets): EncryptedExtensions,
 * Certificate, CertificateVerify, Finished */
static const char s3_flight_payload[] =
    "08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17"
    "00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 1c"
    "00 02 40 01 00 00 00 00 0b 00 01 b9 00 00 01 b5"
    "00 01 b0 30 82 01 ac 30 82 01 15 a0 03 02 01 02"
    "02 01 02 30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b"
    "05 00 30 0e 31 0c 30 0a 06 03 55 04 03 13 03 72"
    "73 61 30 1e 17 0d 31 36 30 37 33 30 30 31 32 33"
    "35 39 5a 17 0d 32 36 30 37 33 30 30 31 32 33 35"
    "39 5a 30 0e 31 0c 30 0a 06 03 55 04 03 13 03 72"
    "73 61 30 81 9f 30 0d 06 09 2a 86 48 86 f7 0d 01"
    "01 01 05 00 03 81 8d 00 30 81 89 02 81 81 00 b4"
    "bb 49 8f 82 79 30 3d 98 08 36 39 9b 36 c6 98 8c"
    "0c 68 de 55 e1 bd b8 26 d3 90 1a 24 61 ea fd 2d"
    "e4 9a 91 d0 15 ab bc 9a 95 13 7a ce 6c 1a f1 9e"
    "aa 6a f9 8c 7c ed 43 12 09 98 e1 87 a8 0e e0 cc"
    "b0 52 4b 1b 01 8c 3e 0b 63 26 4d 44 9a 6d 38 e2"
    "2a 5f da 43 08 46 74 80 30 53 0e f0 46 1c 8c a9"
    "d9 ef bf ae 8e a6 d1 d0 3e 2b d1 93 ef f0 ab 9a"
    "80 02 c4 74 28 a6 d3 5a 8d 88 d7 9f 7f 1e 3f 02"
    "03 01 00 01 a3 1a 30 18 30 09 06 03 55 1d 13 04"
    "02 30 00 30 0b 06 03 55 1d 0f 04 04 03 02 05 a0"
    "30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05 00 03"
    "81 81 00 85 aa d2 a0 e5 b9 27 6b 90 8c 65 f7 3a"
    "72 67 17 06 18 a5 4c 5f 8a 7b 33 7d 2d f7 a5 94"
    "36 54 17 f2 ea e8 f8 a5 8c 8f 81 72 f9 31 9c f3"
    "6b 7f d6 c5 5b 80 f2 1a 03 01 51 56 72 60 96 fd"
    "33 5e 5e 67 f2 db f1 02 70 2e 60 8c ca e6 be c1"
    "fc 63 a4 2a 99 be 5c 3e b7 10 7c 3c 54 e9 b9 eb"
    "2b d5 20 3b 1c 3b 84 e0 a8 b2 f7 59 40 9b a3 ea"
    "c9 d9 1d 40 2d cc 0c c8 f8 96 12 29 ac 91 87 b4"
    "2b 4d e1 00 00 0f 00 00 84 08 04 00 80 5a 74 7c"
    "5d 88 fa 9b d2 e5 5a b0 85 a6 10 15 b7 21 1f 82"
    "4c d4 84 14 5a b3 ff 52 f1 fd a8 47 7b 0b 7a bc"
    "90 db 78 e2 d3 3a 5c 14 1a 07 86 53 fa 6b ef 78"
    "0c 5e a2 48 ee aa a7 85 c4 f3 94 ca b6 d3 0b be"
    "8d 48 59 ee 51 1f 60 29 57 b1 54 11 ac 02 76 71"
    "45 9e 46 44 5c 9e a5 8c 18 1e 81 8e 95 b8 c3 fb"
    "0b f3 27 84 09 d3 be 15 2a 3d a5 04 3e 06 3d da"
    "65 cd f5 ae a2 0d 53 df ac d4 2f 74 f3 14 00 00"
    "20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de"
    "da 4a b4 2c 30 95 72 cb 7f ff ee 54 54 b7 8f 07"
    "18";

/* {server}  send handshake record: complete record (679 octets) */
static const char s3_flight_record[] =
    "17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07"
    "cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3 5e"
    "df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca"
    "07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78"
    "b1 11 b4 29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61"
    "34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b"
    "d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79"
    "02 07 16 cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9"
    "d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c"
    "7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e"
    "d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3"
    "60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92"
    "8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82"
    "04 79 7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94"
    "5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8"
    "94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68"
    "45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63"
    "aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f"
    "44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26"
    "4e d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26"
    "f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3"
    "6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31"
    "7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64"
    "7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e"
    "1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24"
    "3d 24 3d c7 33 9d 56 84 c8 b0 37 8b f3 02 44 da"
    "8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c"
    "f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4"
    "61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c"
    "74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be"
    "5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18"
    "a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5 13 af bb"
    "99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb"
    "56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59"
    "77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51 56 14"
    "63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38"
    "eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97"
    "8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84"
    "5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78"
    "40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5"
    "d2 af 93 98 28 fd 4a e3 79 4e 44 f9 4d f5 a6 31"
    "ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e"
    "75 0e dc 53 37 0d 2b";

/* {client}  send handshake record: payload (36 octets): Finished */
static const char s3_cfin_payload[] =
    "14 00 00 20 a8 ec 43 6d 67 76 34 ae 52 5a c1 fc"
    "eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2"
    "ed d5 ce 61";

/* {client}  send handshake record: complete record (58 octets) */
static const char s3_cfin_record[] =
    "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44"
    "a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc"
    "44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c"
    "ae ac ab 68 67 d7 26 c4 05 46";

/* {server}  send handshake record: payload (205 octets): NewSessionTicket */
static const char s3_nst_payload[] =
    "04 00 00 c9 00 00 00 1e fa d6 aa c5 02 00 00 00"
    "b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9 00 00 00"
    "00 26 2a 64 94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf"
    "1b 00 70 ad 3c 49 88 83 c9 36 7c 09 a2 be 78 5a"
    "bc 55 cd 22 60 97 a3 a9 82 11 72 83 f8 2a 03 a1"
    "43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27"
    "db 27 9c ce 14 50 77 d4 54 a3 66 4d 4e 6d a4 d2"
    "9e e0 37 25 a6 a4 da fc d0 fc 67 d2 ae a7 05 29"
    "51 3e 3d a2 67 7f a5 90 6c 5b 3f 7d 8f 92 f2 28"
    "bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64"
    "6f ac 5c 03 27 2e 97 07 27 c6 21 a7 91 41 ef 5f"
    "7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a"
    "e4 d3 57 00 08 00 2a 00 04 00 00 04 00";

/* {server}  send handshake record: complete record (227 octets) */
static const char s3_nst_record[] =
    "17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34"
    "87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95 d4"
    "1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a"
    "01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3"
    "8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d"
    "a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0"
    "9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43"
    "9b 29 99 ce 13 06 46 15 13 98 91 d5 e4 c5 b4 06"
    "f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77"
    "f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51"
    "9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d 64 f6"
    "50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74"
    "bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1"
    "86 96 12 9c 81 53 55 6b 3b 6c 67 79 b3 7b f1 59"
    "85 68 4f";

/* {client}/{server}  send application_data record: payload (50 octets),
 * the same in §3 and §4 */
static const char app_payload[] =
    "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
    "10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f"
    "20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f"
    "30 31";

/* {client}  send application_data record: complete record (72 octets) */
static const char s3_capp_record[] =
    "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe"
    "82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f"
    "2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b"
    "62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6"
    "3a ee bb 21 69 49 15 e4";

/* {server}  send application_data record: complete record (72 octets) */
static const char s3_sapp_record[] =
    "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad"
    "36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36"
    "e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8"
    "fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54"
    "0d d0 32 e1 67 c2 95 5d";

/* {client}/{server}  send alert record: payload (2 octets): close_notify */
static const char alert_payload[] =
    "01 00";

/* {client}  send alert record: complete record (24 octets) */
static const char s3_calert_record[] =
    "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1"
    "15 3e fd 6d b6 d0 b0 e3";

/* {server}  send alert record: complete record (24 octets) */
static const char s3_salert_record[] =
    "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20"
    "cf be 7e fa 7a 88 64 a9";

/* ---- RFC 8448 §4, Resumed 0-RTT Handshake (TLS_AES_128_GCM_SHA256) ---- */

/* {client}  derive secret "tls13 c e traffic": expanded (32 octets) */
static const char s4_c_e[] =
    "3f bb e6 a6 0d eb 66 c3 0a 32 79 5a ba 0e ff 7e"
    "aa 10 10 55 86 e7 be 5c 09 67 8d 63 b6 ca ab 62";

/* {client}  derive write traffic keys for early application data: key expanded (16 octets) */
static const char s4_c_e_key[] =
    "92 02 05 a5 b7 bf 21 15 e6 fc 5c 29 42 83 4f 54";

/* {client}  derive write traffic keys for early application data: iv expanded (12 octets) */
static const char s4_c_e_iv[] =
    "6d 47 5f 09 93 c8 e5 64 61 0d b2 b9";

/* {server}  derive secret "tls13 c hs traffic": expanded (32 octets) */
static const char s4_c_hs[] =
    "2f aa c0 8f 85 1d 35 fe a3 60 4f cb 4d e8 2d c6"
    "2c 9b 16 4a 70 97 4d 04 62 e2 7f 1a b2 78 70 0f";

/* {server}  derive secret "tls13 s hs traffic": expanded (32 octets) */
static const char s4_s_hs[] =
    "fe 92 7a e2 71 31 2e 8b f0 27 5b 58 1c 54 ee f0"
    "20 45 0d c4 ec ff aa 05 a1 a3 5d 27 51 8e 78 03";

/* {server}  derive write traffic keys for handshake data: key expanded (16 octets) */
static const char s4_s_hs_key[] =
    "27 c6 bd c0 a3 dc ea 39 a4 73 26 d7 9b c9 e4 ee";

/* {server}  derive write traffic keys for handshake data: iv expanded (12 octets) */
static const char s4_s_hs_iv[] =
    "95 69 ec dd 4d 05 36 70 5e 9e f7 25";

/* {server}  derive secret "tls13 c ap traffic": expanded (32 octets) */
static const char s4_c_ap[] =
    "2a bb f2 b8 e3 81 d2 3d be be 1d d2 a7 d1 6a 8b"
    "f4 84 cb 49 50 d2 3f b7 fb 7f a8 54 70 62 d9 a1";

/* {server}  derive secret "tls13 s ap traffic": expanded (32 octets) */
static const char s4_s_ap[] =
    "cc 21 f1 bf 8f eb 7d d5 fa 50 5b d9 c4 b4 68 a9"
    "98 4d 55 4a 99 3d c4 9e 6d 28 55 98 fb 67 26 91";

/* {server}  derive write traffic keys for application data: key expanded (16 octets) */
static const char s4_s_ap_key[] =
    "e8 57 c6 90 a3 4c 5a 91 29 d8 33 61 96 84 f9 5e";

/* {server}  derive write traffic keys for application data: iv expanded (12 octets) */
static const char s4_s_ap_iv[] =
    "06 85 d6 b5 61 aa b9 ef 10 13 fa f9";

/* {client}  send application_data record: payload (6 octets): early data */
static const char s4_early_payload[] =
    "41 42 43 44 45 46";

/* {client}  send application_data record: complete record (28 octets) */
static const char s4_early_record[] =
    "17 03 03 00 17 ab 1d f4 20 e7 5c 45 7a 7c c5 d2"
    "84 4f 76 d5 ae e4 b4 ed bf 04 9b e0";

/* {server}  send handshake record: payload (80 octets): EncryptedExtensions, Finished */
static const char s4_sflight_payload[] =
    "08 00 00 28 00 26 00 0a 00 14 00 12 00 1d 00 17"
    "00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 1c"
    "00 02 40 01 00 00 00 00 00 2a 00 00 14 00 00 20"
    "48 d3 e0 e1 b3 d9 07 c6 ac ff 14 5e 16 09 03 88"
    "c7 7b 05 c0 50 b6 34 ab 1a 88 bb d0 dd 1a 34 b2";

/* {server}  send handshake record: complete record (102 octets) */
static const char s4_sflight_record[] =
    "17 03 03 00 61 dc 48 23 7b 4b 87 9f 50 d0 d4 d2"
    "62 ea 8b 47 16 eb 40 dd c1 eb 95 7e 11 12 6e 8a"
    "71 49 c2 d0 12 d3 7a 71 15 95 7e 64 ce 30 00 8b"
    "9e 03 23 f2 c0 5a 9c 1c 77 b4 f3 78 49 a6 95 ab"
    "25 50 60 a3 3f ee 77 0c a9 5c b8 48 6b fd 08 43"
    "b8 70 24 86 5c a3 5c c4 1c 4e 51 5c 64 dc b1 36"
    "9f 98 63 5b c7 a5";

/* {client}  send handshake record: payload (4 octets): EndOfEarlyData */
static const char s4_eoed_payload[] =
    "05 00 00 00";

/* {client}  send handshake record: complete record (26 octets) */
static const char s4_eoed_record[] =
    "17 03 03 00 15 ac a6 fc 94 48 41 29 8d f9 95 93"
    "72 5f 9b f9 75 44 29 b1 2f 09";

/* {client}  send handshake record: payload (36 octets): Finished */
static const char s4_cfin_payload[] =
    "14 00 00 20 72 30 a9 c9 52 c2 5c d6 13 8f c5 e6"
    "62 83 08 c4 1c 53 35 dd 81 b9 f9 6b ce a5 0f d3"
    "2b da 41 6d";

/* {client}  send handshake record: complete record (58 octets) */
static const char s4_cfin_record[] =
    "17 03 03 00 35 00 f8 b4 67 d1 4c f2 2a 4b 3f 0b"
    "6a e0 d8 e6 cc 8d 08 e0 db 35 15 ef 5c 2b df 19"
    "22 ea fb b7 00 09 96 47 16 d8 34 fb 70 c3 d2 a5"
    "6c 5b 1f 5f 6b db a6 c3 33 cf";

/* {client}  send application_data record: complete record (72 octets) */
static const char s4_capp_record[] =
    "17 03 03 00 43 b1 ce bc e2 42 aa 20 1b e9 ae 5e"
    "1c b2 a9 aa 4b 33 d4 e8 66 af 1e db 06 89 19 23"
    "77 41 aa 03 1d 7a 74 d4 91 c9 9b 9d 4e 23 2b 74"
    "20 6b c6 fb aa 04 fe 78 be 44 a9 b4 f5 43 20 a1"
    "7e b7 69 92 af ac 31 03";

/* {server}  send application_data record: complete record (72 octets) */
static const char s4_sapp_record[] =
    "17 03 03 00 43 27 5e 9f 20 ac ff 57 bc 00 06 57"
    "d3 86 7d f0 39 cc cf 79 04 78 84 cf 75 77 17 46"
    "f7 40 b5 a8 3f 46 2a 09 54 c3 58 13 93 a2 03 a2"
    "5a 7d d1 41 41 ef 1a 37 90 0c db 62 ff 62 de e1"
    "ba 39 ab 25 90 cb f1 94";

/* {client}  send alert record: complete record (24 octets) */
static const char s4_calert_record[] =
    "17 03 03 00 13 0f ac ce 32 46 bd fc 63 69 83 8d"
    "6a 82 ae 6d e5 d4 22 dc";

/* {server}  send alert record: complete record (24 octets) */
static const char s4_salert_record[] =
    "17 03 03 00 13 5b 18 af 44 4e 8e 1e ec 71 58 fb"
    "62 d8 f2 57 7d 37 ba 5d";

/* A traffic secret and, where the RFC prints them, the key and IV derived
 * from it. */
struct kat_secret {
    const char *name;
    const char *secret;
    const char *key; /* NULL: not printed in the trace */
    const char *iv;
};

/* One protected record: the RFC's step, the secret that protects it, its
 * sequence number under that secret, its inner content type and payload. */
struct kat_record {
    const char *step;
    const struct kat_secret *secret;
    uint64_t seq;
    uint8_t type;
    const char *payload;
    const char *record;
};

static const struct kat_secret s3_secrets[] = {
    {"client_handshake_traffic_secret", s3_c_hs, s3_c_hs_key, s3_c_hs_iv},
    {"server_handshake_traffic_secret", s3_s_hs, s3_s_hs_key, s3_s_hs_iv},
    {"client_application_traffic_secret_0", s3_c_ap, s3_c_ap_key, s3_c_ap_iv},
    {"server_application_traffic_secret_0", s3_s_ap, s3_s_ap_key, s3_s_ap_iv},
};

/* In the order of the document (per secret: sequence 0, 1, 2 ...). */
static const struct kat_record s3_records[] = {
    {"§3 {server} send handshake record (EncryptedExtensions..Finished)", &s3_secrets[1], 0,
     ZREC_CT_HANDSHAKE, s3_flight_payload, s3_flight_record},
    {"§3 {client} send handshake record (Finished)", &s3_secrets[0], 0, ZREC_CT_HANDSHAKE,
     s3_cfin_payload, s3_cfin_record},
    {"§3 {server} send handshake record (NewSessionTicket)", &s3_secrets[3], 0,
     ZREC_CT_HANDSHAKE, s3_nst_payload, s3_nst_record},
    {"§3 {client} send application_data record", &s3_secrets[2], 0, ZREC_CT_APPLICATION_DATA,
     app_payload, s3_capp_record},
    {"§3 {server} send application_data record", &s3_secrets[3], 1, ZREC_CT_APPLICATION_DATA,
     app_payload, s3_sapp_record},
    {"§3 {client} send alert record", &s3_secrets[2], 1, ZREC_CT_ALERT, alert_payload,
     s3_calert_record},
    {"§3 {server} send alert record", &s3_secrets[3], 2, ZREC_CT_ALERT, alert_payload,
     s3_salert_record},
};

static const struct kat_secret s4_secrets[] = {
    {"client_early_traffic_secret", s4_c_e, s4_c_e_key, s4_c_e_iv},
    {"client_handshake_traffic_secret", s4_c_hs, NULL, NULL},
    {"server_handshake_traffic_secret", s4_s_hs, s4_s_hs_key, s4_s_hs_iv},
    {"client_application_traffic_secret_0", s4_c_ap, NULL, NULL},
    {"server_application_traffic_secret_0", s4_s_ap, s4_s_ap_key, s4_s_ap_iv},
};

static const struct kat_record s4_records[] = {
    {"§4 {client} send application_data record (early data)", &s4_secrets[0], 0,
     ZREC_CT_APPLICATION_DATA, s4_early_payload, s4_early_record},
    {"§4 {server} send handshake record (EncryptedExtensions, Finished)", &s4_secrets[2], 0,
     ZREC_CT_HANDSHAKE, s4_sflight_payload, s4_sflight_record},
    {"§4 {client} send handshake record (EndOfEarlyData)", &s4_secrets[0], 1,
     ZREC_CT_HANDSHAKE, s4_eoed_payload, s4_eoed_record},
    {"§4 {client} send handshake record (Finished)", &s4_secrets[1], 0, ZREC_CT_HANDSHAKE,
     s4_cfin_payload, s4_cfin_record},
    {"§4 {client} send application_data record", &s4_secrets[3], 0, ZREC_CT_APPLICATION_DATA,
     app_payload, s4_capp_record},
    {"§4 {server} send application_data record", &s4_secrets[4], 0, ZREC_CT_APPLICATION_DATA,
     app_payload, s4_sapp_record},
    {"§4 {client} send alert record", &s4_secrets[3], 1, ZREC_CT_ALERT, alert_payload,
     s4_calert_record},
    {"§4 {server} send alert record", &s4_secrets[4], 1, ZREC_CT_ALERT, alert_payload,
     s4_salert_record},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define HDR 5u   /* TLS 1.3 record header */
#define TAIL 17u /* inner content type + 16-byte GCM tag */

static const struct zrec_aead_provider *prov; /* the provider under test */
static unsigned checks;

/* A record's vector bytes, decoded. */
struct rec_bytes {
    uint8_t *secret, *payload, *record;
    size_t secret_len, payload_len, record_len;
};

static struct rec_bytes rec_decode(const struct kat_record *r)
{
    struct rec_bytes b;
    b.secret = kat_unhex(r->secret->secret, &b.secret_len);
    b.payload = kat_unhex(r->payload, &b.payload_len);
    b.record = kat_unhex(r->record, &b.record_len);
    /* The vector itself: header, length field, and size. */
    CHECK(b.secret_len == 32, "%s: secret length %zu", r->step, b.secret_len);
    CHECK(b.record_len == HDR + b.payload_len + TAIL, "%s: record of %zu octets for a %zu-octet "
          "payload", r->step, b.record_len, b.payload_len);
    CHECK(b.record[0] == ZREC_CT_APPLICATION_DATA && b.record[1] == 3 && b.record[2] == 3 &&
              (size_t)(b.record[3] << 8 | b.record[4]) == b.record_len - HDR,
          "%s: record header", r->step);
    return b;
}

static void rec_free(struct rec_bytes *b)
{
    free(b->secret);
    free(b->payload);
    free(b->record);
}

static struct zrec_session *new_session(void)
{
    struct zrec_session_params p = {.proto = ZREC_TLS13, .aead = ZREC_AES_128_GCM,
                                     .hash = ZREC_SHA256, .provider = prov};
    struct zrec_session *s = zrec_session_new(&p);
    CHECK(s != NULL, "zrec_session_new(tls13, aes128gcm, %s): %s", zrec_provider_name(prov),
          strerror(errno));
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(s, &o) == 0 && o.headroom == HDR && o.tailroom == TAIL,
          "overhead %u/%u, expected %u/%u", o.headroom, o.tailroom, HDR, TAIL);
    return s;
}

static void set_secret(struct zrec_session *s, enum zrec_dir dir, const struct rec_bytes *b,
                       uint64_t seq, const char *step)
{
    struct zrec_traffic_keys k = {.secret = b->secret, .secret_len = b->secret_len, .seq = seq};
    int rc = zrec_session_set_keys(s, dir, &k);
    CHECK(rc == 0, "%s: set_keys(%s): %d", step, dir == ZREC_DIR_WRITE ? "write" : "read", rc);
}

/* White-box: the key and IV zrec derives from the secret are the RFC's. */
static void check_derivation(const struct kat_secret *ks)
{
    if (ks->key == NULL)
        return;
    size_t slen, klen, ivlen;
    uint8_t *secret = kat_unhex(ks->secret, &slen);
    uint8_t *want_key = kat_unhex(ks->key, &klen);
    uint8_t *want_iv = kat_unhex(ks->iv, &ivlen);
    struct zrec_session *s = new_session();
    uint8_t key[ZREC_MAX_KEY_LEN], iv[ZREC_NONCE_LEN];
    int rc = zrec__derive_traffic(s, secret, slen, key, iv, NULL);
    CHECK(rc == 0, "derive_traffic(%s): %d", ks->name, rc);
    char what[128];
    snprintf(what, sizeof what, "write key derived from %s", ks->name);
    kat_expect_bytes(what, key, klen, want_key, klen);
    snprintf(what, sizeof what, "write iv derived from %s", ks->name);
    kat_expect_bytes(what, iv, sizeof iv, want_iv, ivlen);
    zrec_session_free(s);
    free(secret);
    free(want_key);
    free(want_iv);
    checks++;
}

/* Events the engine must raise for a record it opened. */
static void check_events(struct zrec_session *s, const struct kat_record *r,
                         const struct rec_bytes *b)
{
    unsigned ev = zrec_session_events(s);
    CHECK(!(ev & (ZREC_EV_FATAL | ZREC_EV_PEER_ALERT)), "%s: events %#x after a good record",
          r->step, ev);
    if (r->type == ZREC_CT_HANDSHAKE && b->payload[0] == 4 /* new_session_ticket */)
        CHECK(ev & ZREC_EV_NEW_SESSION_TICKET, "%s: no NewSessionTicket event (%#x)", r->step,
              ev);
    if (r->type == ZREC_CT_ALERT && b->payload[1] == ZREC_ALERT_CLOSE_NOTIFY)
        CHECK(ev & ZREC_EV_PEER_CLOSED, "%s: no close_notify event (%#x)", r->step, ev);
}

/* Open the published record with zrec_open_record at its sequence number. */
static void open_contiguous(const struct kat_record *r, const struct rec_bytes *b)
{
    struct zrec_session *s = new_session();
    set_secret(s, ZREC_DIR_READ, b, r->seq, r->step);
    CHECK(zrec_record_length(s, b->record, b->record_len) == (long)b->record_len,
          "%s: zrec_record_length", r->step);
    uint8_t *buf = malloc(b->record_len);
    memcpy(buf, b->record, b->record_len);
    uint8_t *plain = NULL, type = 0;
    int n = zrec_open_record(s, buf, b->record_len, &plain, &type);
    CHECK(n >= 0, "%s: zrec_open_record at seq %llu: %d (%s)", r->step,
          (unsigned long long)r->seq, n, strerror(-n));
    CHECK(type == r->type, "%s: content type %u, expected %u", r->step, type, r->type);
    CHECK(plain == buf + HDR, "%s: plaintext not in place", r->step);
    kat_expect_bytes(r->step, plain, (size_t)n, b->payload, b->payload_len);
    CHECK(zrec_session_seq(s, ZREC_DIR_READ) == r->seq + 1, "%s: read seq %llu after open",
          r->step, (unsigned long long)zrec_session_seq(s, ZREC_DIR_READ));
    check_events(s, r, b);
    zrec_session_free(s);
    free(buf);
    checks++;
}

/* Seal the published payload at its sequence number: the published record. */
static void seal_contiguous(const struct kat_record *r, const struct rec_bytes *b)
{
    struct zrec_session *s = new_session();
    set_secret(s, ZREC_DIR_WRITE, b, r->seq, r->step);
    uint8_t *buf = malloc(HDR + b->payload_len + TAIL);
    memcpy(buf + HDR, b->payload, b->payload_len);
    struct zrec_op op = {.sess = s, .data = buf + HDR, .len = (uint32_t)b->payload_len,
                         .headroom = HDR, .tailroom = TAIL, .content_type = r->type};
    CHECK(zrec_seal_burst(&op, 1) == 1, "%s: seal status %d", r->step, op.status);
    CHECK(op.rec == buf && op.seq == r->seq, "%s: sealed at %p seq %llu", r->step,
          (void *)op.rec, (unsigned long long)op.seq);
    kat_expect_bytes(r->step, op.rec, op.rec_len, b->record, b->record_len);
    zrec_session_free(s);

    /* The same through zrec_seal_record. */
    s = new_session();
    set_secret(s, ZREC_DIR_WRITE, b, r->seq, r->step);
    memcpy(buf + HDR, b->payload, b->payload_len);
    uint8_t *rec = NULL;
    int n = zrec_seal_record(s, r->type, buf + HDR, b->payload_len, HDR, TAIL, &rec);
    CHECK(n > 0 && rec == buf, "%s: zrec_seal_record: %d", r->step, n);
    kat_expect_bytes(r->step, rec, (size_t)n, b->record, b->record_len);
    CHECK(zrec_session_seq(s, ZREC_DIR_WRITE) == r->seq + 1, "%s: write seq after seal",
          r->step);
    zrec_session_free(s);

    /* close_notify through the engine's own alert path. */
    if (r->type == ZREC_CT_ALERT) {
        s = new_session();
        set_secret(s, ZREC_DIR_WRITE, b, r->seq, r->step);
        uint8_t abuf[64];
        n = zrec_seal_alert(s, b->payload[0], b->payload[1], abuf, sizeof abuf);
        CHECK(n > 0, "%s: zrec_seal_alert: %d", r->step, n);
        kat_expect_bytes(r->step, abuf, (size_t)n, b->record, b->record_len);
        zrec_session_free(s);
    }
    free(buf);
    checks++;
}

/* A flipped bit in the header (authenticated as AAD), the ciphertext or the
 * tag: -EBADMSG, the ciphertext region wiped, the connection failed. */
static void open_tampered(const struct kat_record *r, const struct rec_bytes *b)
{
    const size_t where[] = {1 /* legacy_record_version */, 2, HDR /* first ciphertext octet */,
                            HDR + b->payload_len /* encrypted content type */,
                            b->record_len - 16 /* first tag octet */, b->record_len - 1};
    for (size_t i = 0; i < N_OF(where); i++) {
        struct zrec_session *s = new_session();
        set_secret(s, ZREC_DIR_READ, b, r->seq, r->step);
        uint8_t *buf = malloc(b->record_len);
        memcpy(buf, b->record, b->record_len);
        buf[where[i]] ^= 0x01;
        uint8_t *plain, type;
        int n = zrec_open_record(s, buf, b->record_len, &plain, &type);
        CHECK(n == -EBADMSG, "%s: bit flipped at offset %zu: %d, expected -EBADMSG", r->step,
              where[i], n);
        for (size_t j = HDR; j < b->record_len - 16; j++)
            CHECK(buf[j] == 0, "%s: offset %zu not wiped after a failed open", r->step, j);
        CHECK(zrec_session_events(s) & ZREC_EV_FATAL, "%s: a failed open is fatal in TLS",
              r->step);
        zrec_session_free(s);
        free(buf);
    }
    /* The right record at the wrong sequence number. */
    struct zrec_session *s = new_session();
    set_secret(s, ZREC_DIR_READ, b, r->seq + 1, r->step);
    uint8_t *buf = malloc(b->record_len);
    memcpy(buf, b->record, b->record_len);
    uint8_t *plain, type;
    CHECK(zrec_open_record(s, buf, b->record_len, &plain, &type) == -EBADMSG,
          "%s: opened at the wrong sequence number", r->step);
    zrec_session_free(s);
    free(buf);
    checks++;
}

/* Segment sizes, cycled until the bytes run out. */
static const uint16_t split_patterns[][6] = {
    {1, 0}, {7, 16, 1, 13, 0}, {16, 0}, {5, 0}, {100, 3, 0},
};

static unsigned split(size_t len, const uint16_t *pat, uint32_t *sizes, unsigned max)
{
    unsigned n = 0, k = 0;
    while (len > 0) {
        CHECK(n < max, "too many segments");
        if (pat[k] == 0)
            k = 0;
        uint32_t take = pat[k++] < len ? pat[k - 1] : (uint32_t)len;
        sizes[n++] = take;
        len -= take;
    }
    return n;
}

#define MAX_SEGS 64

/* Open the published record scattered over several buffers (the header split
 * too); the plaintext stays in the segments. */
static void open_scattered(const struct kat_record *r, const struct rec_bytes *b)
{
    for (size_t pi = 0; pi < N_OF(split_patterns); pi++) {
        uint32_t sizes[MAX_SEGS * 16];
        unsigned n = split(b->record_len, split_patterns[pi], sizes, N_OF(sizes));
        if (n > MAX_SEGS)
            continue; /* the engine takes at most 64 segments */
        struct zrec_seg segs[MAX_SEGS];
        size_t off = 0;
        for (unsigned i = 0; i < n; i++) {
            segs[i].base = malloc(sizes[i]);
            segs[i].len = sizes[i];
            memcpy(segs[i].base, b->record + off, sizes[i]);
            off += sizes[i];
        }
        struct zrec_session *s = new_session();
        set_secret(s, ZREC_DIR_READ, b, r->seq, r->step);
        struct zrec_op op = {.sess = s, .seg = segs, .nseg = (uint16_t)n};
        CHECK(zrec_open_burst(&op, 1) == 1, "%s: scattered open (pattern %zu, %u segments): %d",
              r->step, pi, n, op.status);
        CHECK(op.content_type == r->type && op.seq == r->seq, "%s: scattered open: type %u seq %llu",
              r->step, op.content_type, (unsigned long long)op.seq);
        /* Gather the plaintext from HDR octets into the segments. */
        uint8_t *plain = malloc(b->record_len);
        size_t got = 0, skip = HDR;
        for (unsigned i = 0; i < n && got < op.rec_len; i++) {
            size_t from = skip < segs[i].len ? skip : segs[i].len;
            skip -= from;
            size_t take = segs[i].len - from;
            if (take > op.rec_len - got)
                take = op.rec_len - got;
            memcpy(plain + got, segs[i].base + from, take);
            got += take;
        }
        if (segs[0].len > HDR)
            CHECK(op.rec == segs[0].base + HDR, "%s: scattered open: plaintext pointer",
                  r->step);
        kat_expect_bytes(r->step, plain, got, b->payload, b->payload_len);
        check_events(s, r, b);
        zrec_session_free(s);
        free(plain);
        for (unsigned i = 0; i < n; i++)
            free(segs[i].base);
    }
    checks++;
}

/* Seal the published payload scattered over several buffers: the header goes
 * before the first, the content type and tag after the last; together they
 * are the published record. */
static void seal_scattered(const struct kat_record *r, const struct rec_bytes *b)
{
    for (size_t pi = 0; pi < N_OF(split_patterns); pi++) {
        uint32_t sizes[MAX_SEGS * 16];
        unsigned n = split(b->payload_len, split_patterns[pi], sizes, N_OF(sizes));
        if (n > MAX_SEGS)
            continue;
        struct zrec_seg segs[MAX_SEGS];
        uint8_t *bufs[MAX_SEGS];
        size_t off = 0;
        for (unsigned i = 0; i < n; i++) {
            size_t before = i == 0 ? HDR : 0, after = i == n - 1 ? TAIL : 0;
            bufs[i] = malloc(before + sizes[i] + after);
            segs[i].base = bufs[i] + before;
            segs[i].len = sizes[i];
            memcpy(segs[i].base, b->payload + off, sizes[i]);
            off += sizes[i];
        }
        struct zrec_session *s = new_session();
        set_secret(s, ZREC_DIR_WRITE, b, r->seq, r->step);
        struct zrec_op op = {.sess = s, .seg = segs, .nseg = (uint16_t)n, .headroom = HDR,
                             .tailroom = TAIL, .content_type = r->type};
        CHECK(zrec_seal_burst(&op, 1) == 1, "%s: scattered seal (pattern %zu, %u segments): %d",
              r->step, pi, n, op.status);
        CHECK(op.rec == bufs[0] && op.rec_len == b->record_len && op.seq == r->seq,
              "%s: scattered seal: record at %p, %u octets, seq %llu", r->step, (void *)op.rec,
              op.rec_len, (unsigned long long)op.seq);
        uint8_t *wire = malloc(b->record_len);
        memcpy(wire, bufs[0], HDR);
        size_t w = HDR;
        for (unsigned i = 0; i < n; i++) {
            memcpy(wire + w, segs[i].base, segs[i].len);
            w += segs[i].len;
        }
        memcpy(wire + w, segs[n - 1].base + segs[n - 1].len, TAIL);
        w += TAIL;
        kat_expect_bytes(r->step, wire, w, b->record, b->record_len);
        zrec_session_free(s);
        free(wire);
        for (unsigned i = 0; i < n; i++)
            free(bufs[i]);
    }
    checks++;
}

/* The whole trace in two bursts that mix sessions: one session per traffic
 * secret, keyed at sequence 0 in both directions; the engine must assign
 * each record the sequence number the RFC used. */
static void burst(const struct kat_record *recs, size_t nrec, const struct kat_secret *secs,
                  size_t nsec)
{
    struct zrec_session *sess[8];
    CHECK(nsec <= N_OF(sess) && nrec <= 16, "table sizes");
    for (size_t i = 0; i < nsec; i++) {
        size_t len;
        uint8_t *secret = kat_unhex(secs[i].secret, &len);
        struct rec_bytes b = {.secret = secret, .secret_len = len};
        sess[i] = new_session();
        set_secret(sess[i], ZREC_DIR_READ, &b, 0, secs[i].name);
        set_secret(sess[i], ZREC_DIR_WRITE, &b, 0, secs[i].name);
        free(secret);
    }
    struct rec_bytes b[16];
    uint8_t *bufs[16];
    struct zrec_op ops[16];
    for (size_t i = 0; i < nrec; i++) {
        b[i] = rec_decode(&recs[i]);
        size_t si = (size_t)(recs[i].secret - secs);
        bufs[i] = malloc(b[i].record_len);
        memcpy(bufs[i], b[i].record, b[i].record_len);
        ops[i] = (struct zrec_op){.sess = sess[si], .data = bufs[i],
                                  .len = (uint32_t)b[i].record_len};
    }
    unsigned good = zrec_open_burst(ops, (unsigned)nrec);
    for (size_t i = 0; i < nrec; i++) {
        const struct kat_record *r = &recs[i];
        CHECK(ops[i].status == 0, "%s: burst open: %d", r->step, ops[i].status);
        CHECK(ops[i].seq == r->seq && ops[i].content_type == r->type,
              "%s: burst open: seq %llu type %u", r->step, (unsigned long long)ops[i].seq,
              ops[i].content_type);
        kat_expect_bytes(r->step, ops[i].rec, ops[i].rec_len, b[i].payload, b[i].payload_len);
    }
    CHECK(good == nrec, "burst open: %u of %zu", good, nrec);
    for (size_t i = 0; i < nrec; i++) {
        free(bufs[i]);
        bufs[i] = malloc(HDR + b[i].payload_len + TAIL);
        memcpy(bufs[i] + HDR, b[i].payload, b[i].payload_len);
        ops[i] = (struct zrec_op){.sess = ops[i].sess, .data = bufs[i] + HDR,
                                  .len = (uint32_t)b[i].payload_len, .headroom = HDR,
                                  .tailroom = TAIL, .content_type = recs[i].type};
    }
    good = zrec_seal_burst(ops, (unsigned)nrec);
    for (size_t i = 0; i < nrec; i++) {
        const struct kat_record *r = &recs[i];
        CHECK(ops[i].status == 0 && ops[i].seq == r->seq, "%s: burst seal: %d seq %llu", r->step,
              ops[i].status, (unsigned long long)ops[i].seq);
        kat_expect_bytes(r->step, ops[i].rec, ops[i].rec_len, b[i].record, b[i].record_len);
    }
    CHECK(good == nrec, "burst seal: %u of %zu", good, nrec);
    for (size_t i = 0; i < nrec; i++) {
        free(bufs[i]);
        rec_free(&b[i]);
    }
    for (size_t i = 0; i < nsec; i++)
        zrec_session_free(sess[i]);
    checks++;
}

static void run(const struct kat_record *recs, size_t nrec, const struct kat_secret *secs,
                size_t nsec)
{
    for (size_t i = 0; i < nsec; i++)
        check_derivation(&secs[i]);
    for (size_t i = 0; i < nrec; i++) {
        struct rec_bytes b = rec_decode(&recs[i]);
        open_contiguous(&recs[i], &b);
        seal_contiguous(&recs[i], &b);
        open_tampered(&recs[i], &b);
        open_scattered(&recs[i], &b);
        seal_scattered(&recs[i], &b);
        rec_free(&b);
    }
    burst(recs, nrec, secs, nsec);
}

int main(int argc, char **argv)
{
    const struct kat_record *recs;
    const struct kat_secret *secs;
    size_t nrec, nsec;
    if (argc == 2 && strcmp(argv[1], "rfc8448-3") == 0) {
        recs = s3_records, nrec = N_OF(s3_records);
        secs = s3_secrets, nsec = N_OF(s3_secrets);
    } else if (argc == 2 && strcmp(argv[1], "rfc8448-4") == 0) {
        recs = s4_records, nrec = N_OF(s4_records);
        secs = s4_secrets, nsec = N_OF(s4_secrets);
    } else {
        fprintf(stderr, "usage: %s rfc8448-3|rfc8448-4\n", argv[0]);
        return 2;
    }
    const struct zrec_aead_provider *provs[] = {zrec_provider_ipsecmb(),
                                                zrec_provider_wolfcrypt()};
#ifdef ZREC_HAVE_IPSECMB
    CHECK(provs[0] == &zrec__provider_ipsecmb, "ipsecmb provider built but not returned");
#endif
    CHECK(provs[1] == &zrec__provider_wolfcrypt, "wolfcrypt provider");
    for (size_t i = 0; i < N_OF(provs); i++) {
        if (provs[i] == NULL) {
            printf("ipsecmb: not built here, skipped\n");
            continue;
        }
        prov = provs[i];
        checks = 0;
        run(recs, nrec, secs, nsec);
        printf("%s %s: %zu records, %u checks passed\n", argv[1], zrec_provider_name(prov), nrec,
               checks);
    }
    return 0;
}
