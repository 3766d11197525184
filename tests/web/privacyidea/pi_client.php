<?php
// Drives privacyIDEA's PHP client (tests/fixtures/privacyidea-php-client) as a
// plugin would, and prints what it understood as one JSON line.
//
//   php pi_client.php URL check USER PASS [TRANSACTION_ID]
//   php pi_client.php URL token SERVICE_USER SERVICE_PASS
//   php pi_client.php URL trigger SERVICE_USER SERVICE_PASS USER
//   php pi_client.php URL poll TRANSACTION_ID

$src = __DIR__ . '/../../fixtures/privacyidea-php-client/src/';
foreach (['PILog', 'AuthenticationStatus', 'PIBadRequestException', 'PIChallenge', 'PIResponse', 'PrivacyIDEA'] as $c) {
    require_once $src . $c . '.php';
}

function show(?PIResponse $r): array
{
    if ($r === null) {
        return ['response' => null];
    }
    $challenges = [];
    foreach ($r->getMultiChallenge() as $c) {
        $challenges[] = ['transaction_id' => $c->transactionID, 'type' => $c->type,
            'message' => $c->message, 'client_mode' => $c->clientMode];
    }
    $error = null;
    if (!$r->getStatus()) {
        $error = ['code' => $r->getErrorCode(), 'message' => $r->getErrorMessage()];
    }
    return ['status' => $r->getStatus(), 'value' => $r->getValue(),
        'authentication' => $r->getAuthenticationStatus(), 'message' => $r->getMessage(),
        'transaction_id' => $r->getTransactionID(), 'challenges' => $challenges,
        'error' => $error];
}

$pi = new PrivacyIDEA('otpgate-test-driver/1.0', $argv[1]);
$pi->setRealm('otpgate');
$action = $argv[2];
if ($action === 'check') {
    $out = show($pi->validateCheck($argv[3], $argv[4], $argv[5] ?? null));
} elseif ($action === 'token' || $action === 'trigger') {
    $pi->setServiceAccountName($argv[3]);
    $pi->setServiceAccountPass($argv[4]);
    $out = ['token' => $pi->getAuthToken()];
    if ($action === 'trigger') {
        $out = show($pi->triggerChallenge($argv[5]));
    }
} elseif ($action === 'poll') {
    $out = ['answered' => $pi->pollTransaction($argv[3])];
} else {
    fwrite(STDERR, "unknown action $action\n");
    exit(2);
}
echo json_encode($out), "\n";
