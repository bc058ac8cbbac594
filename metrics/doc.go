// Package metrics owns the SBC's Prometheus registry: every call, SIP, media,
// relay and policy figure the operator scrapes from /metrics, named per the
// Prometheus naming conventions with an sbc_ prefix, behind a typed Go API so
// that callers never build label strings on their paths, plus pull hooks
// (providers called at scrape time) for figures other components own.
//
// Pushed through the API (children cached per label value):
//
//	sbc_calls_active{trunk}, sbc_calls_attempted_total{trunk},
//	sbc_calls_answered_total{trunk}, sbc_calls_failed_total{trunk,code},
//	sbc_call_setup_seconds{trunk} (histogram, 5 ms .. 10 s), sbc_calls_per_second,
//	sbc_sip_retransmissions_total{direction}, sbc_sip_parse_errors_total{transport},
//	sbc_sip_rejected_messages_total{reason}, sbc_media_stream_jitter_seconds{interface},
//	sbc_media_stream_loss_ratio{interface}, sbc_policy_reloads_total{result},
//	sbc_policy_info{hash}, sbc_policy_last_load_success_timestamp_seconds, sbc_build_info{version}
//
// Pulled from providers:
//
//	sbc_sip_transactions_active, sbc_registrations_cached,
//	sbc_media_sessions_active, sbc_media_ports_in_use, sbc_media_ports_capacity,
//	sbc_media_packets_total, sbc_media_bytes_total, sbc_media_packets_lost_total,
//	sbc_media_jitter_seconds (per interface), sbc_relay_cpu_seconds_total{worker},
//	sbc_capture_packets_total{sink,result}, sbc_cdr_posts_total{result},
//	sbc_cdr_post_retries_total, sbc_cdr_post_queue_length
//
// plus the Go runtime (go_*) and process (process_*) collectors. Status-code
// labels follow the SIP response classes of RFC 3261 §21; jitter and loss are
// RFC 3550 §6.4.1's.
package metrics
